package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestEventStreamWhoseClientStopsReading checks that an event stream
// whose client stops reading, while its connection stays up, ends: its
// writes used to block for as long as TCP kept the connection, holding
// the stream, its goroutine and the name's use (the name stayed online)
// after the face had given up on it.
func TestEventStreamWhoseClientStopsReading(t *testing.T) {
	f := newFaceLimited(t, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, nil)
	f.srv.streamWrite = stuckWrite
	key := f.key("alice")
	bob := f.peer("bob")

	br := slowGet(t, f, "/api/v1/events", key)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read the stream's opening: %v", err)
		}
		if strings.HasPrefix(line, "event: ready") {
			break
		}
	}
	// From here on nothing is read. The messages fill the connection's
	// buffers until a write blocks.
	sess := f.session("alice")
	inUse := func() int {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return len(sess.uses)
	}
	body := strings.Repeat("x", 9000) // under the size at which a body is summed up
	// Sends go on until the stream ends: those made while a write waits
	// its deadline count for nothing, so the bound is time, not a count.
	giveUp := time.Now().Add(30 * time.Second)
	for i := 0; inUse() > 0; i++ {
		if time.Now().After(giveUp) {
			t.Fatalf("%d messages of %d bytes after its client stopped reading, the stream still runs", i, len(body))
		}
		// A deadline for each send, not for them all: on a loaded
		// machine the hundreds it may take pass any one of them.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := bob.Send(ctx, "alice", body)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestLargeAnswerWhoseClientStopsReading checks the same of a large
// answer, a message of megabytes fetched by a client that then reads
// nothing: the write ends, and with it the request and the name's use.
func TestLargeAnswerWhoseClientStopsReading(t *testing.T) {
	f := newFace(t, nil)
	f.srv.streamWrite = stuckWrite
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	sent, err := f.peer("bob").Send(ctxT(t), "alice", strings.Repeat("y", 7<<20))
	if err != nil {
		t.Fatal(err)
	}
	if line, err := slowGet(t, f, "/api/v1/messages/"+sent.Message.ID, key).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("the fetch's answer begins %q, %v", line, err)
	}
	// Nothing more is read: the request must end all the same.
	sess := f.session("alice")
	testbin.Eventually(t, 15*time.Second, "the fetch whose client stopped reading to end", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return len(sess.uses) == 0
	})
}

// slowGet sends a GET of path with key on a connection of its own whose
// receive buffer is small, so that an answer the test does not read
// fills it soon, and returns the reader of the answer. The connection is
// closed when the test ends.
func slowGet(t *testing.T, f *face, path, key string) *bufio.Reader {
	t.Helper()
	return slowRequest(t, f, "GET "+path, key, "", "")
}

// slowRequest is slowGet for any request line, with header lines of its
// own (each ending in CRLF) and a body.
func slowRequest(t *testing.T, f *face, line, key, header, body string) *bufio.Reader {
	t.Helper()
	_, br := rawRequest(t, f, line, key, header, body)
	return br
}

// rawRequest is slowRequest, and returns the connection too, for a test
// that closes it before it ends.
func rawRequest(t *testing.T, f *face, line, key, header, body string) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.(*net.TCPConn).SetReadBuffer(4096)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, line+" HTTP/1.1\r\nHost: "+u.Host+"\r\nAuthorization: Bearer "+key+"\r\n"+header+"\r\n"+body)
	return c, bufio.NewReader(c)
}
