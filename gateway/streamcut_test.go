package gateway

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestEndedStreamLetsGoOfItsWrite: an event stream whose client stopped
// reading falls behind and is ended, but its handler went on waiting in
// the write its client did not take, until the write's deadline (30 s):
// the stream, its connection, the name's use and a place among the key's
// 64 stayed, and a face told to stop waited for it until its shutdown
// gave up, 10 s on. The same held for a stream ended by the revocation of
// its key. Once a stream has ended, its write is cut.
func TestEndedStreamLetsGoOfItsWrite(t *testing.T) {
	f := newFaceLimited(t, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, nil)
	f.srv.streamWrite = time.Minute // longer than the test waits
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
	// From here on nothing is read: the messages fill the connection's
	// buffers until a write blocks, and then the stream's own, until it
	// is ended for falling behind.
	sess := f.session("alice")
	var stream *use
	f.srv.sessions.mu.Lock()
	for u := range sess.uses {
		if u.events != nil {
			stream = u
		}
	}
	f.srv.sessions.mu.Unlock()
	if stream == nil {
		t.Fatal("the face has no event stream of alice")
	}
	body := strings.Repeat("x", 9000)
	giveUp := time.Now().Add(30 * time.Second)
	for stream.ctx.Err() == nil {
		if time.Now().After(giveUp) {
			t.Fatal("30 s after its client stopped reading, the stream was not ended for falling behind")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := bob.Send(ctx, "alice", body)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
	}
	testbin.Eventually(t, 10*time.Second, "the ended stream to let go of its write and of alice's use", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return !sess.uses[stream]
	})
}

// TestEndedStreamLeavesItsConnectionWhole: a stream the face ends while
// its client reads (here by revoking its key; a rename elsewhere or a
// lost name do the same) ends cleanly, and its connection carries the
// client's next request. The cut of the write above ran beside the
// handler's return and could set the deadline of the connection's next
// answer to the moment the stream ended: that answer was never written,
// and the client's next request, a POST that net/http does not send
// again, failed with EOF. It raced, so the test ends many streams.
func TestEndedStreamLeavesItsConnectionWhole(t *testing.T) {
	f := newFace(t, nil)
	ctx := ctxT(t)
	for i := range 30 {
		key := f.key("alice")
		c, br := rawRequest(t, f, "GET /api/v1/events", key, "", "")
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("stream %d: %v %v", i, resp, err)
		}
		body := bufio.NewReader(resp.Body)
		for {
			line, err := body.ReadString('\n')
			if err != nil {
				t.Fatalf("stream %d: read its opening: %v", i, err)
			}
			if strings.HasPrefix(line, "event: ready") {
				break
			}
		}
		if _, err := f.ctl.RevokeKeys(ctx, f.keyID(key), ""); err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			t.Fatalf("stream %d did not end cleanly once its key was revoked: %v", i, err)
		}
		io.WriteString(c, "GET /health HTTP/1.1\r\nHost: "+strings.TrimPrefix(f.url, "http://")+"\r\n\r\n")
		next, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("stream %d ended cleanly, but the next request on its connection had no answer: %v", i, err)
		}
		if next.StatusCode != 200 {
			t.Fatalf("the next request on the connection of stream %d: status %d, want 200", i, next.StatusCode)
		}
		io.Copy(io.Discard, next.Body)
		c.Close()
	}
}
