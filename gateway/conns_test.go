package gateway

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestKeylessConnectionsAreBounded holds connections without a key, of
// each kind a flood uses (silent, idle after a request that needs no key,
// part way through its headers), past MaxKeylessConns: each one beyond
// closes the oldest, and a connection that carried a valid key is never
// closed for them. Before the bound, one client without a key could hold
// connections until the process ran out of descriptors.
func TestKeylessConnectionsAreBounded(t *testing.T) {
	const max = 4
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs testbin.Buffer
	f := newFace(t, func(o *Options) {
		o.MaxKeylessConns = max
		o.AllowHosts = []string{ln.Addr().String()}
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	key := f.key("alice")
	overTLS := f.serveTLS(ln)

	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	for _, c := range []struct {
		name   string
		ts     *httptest.Server
		client *http.Client
	}{
		{"http1", f.ts, &http.Client{Transport: tr}},
		{"h2", overTLS, overTLS.Client()},
	} {
		t.Run(c.name, func(t *testing.T) {
			dial := func(i int) *rawConn {
				return dialRaw(t, c.ts, []string{"silent", "idle", "headers"}[i%3])
			}
			var first []*rawConn
			for i := range max {
				first = append(first, dial(i))
			}
			// The key holder's connection is one more: it closes the
			// oldest, then shows its key.
			if reused := getMe(t, c.client, c.ts.URL, key); reused {
				t.Fatal("the key holder's first request reused a connection")
			}
			var second []*rawConn
			for i := range max {
				second = append(second, dial(i))
			}
			deadline := time.Now().Add(10 * time.Second)
			for i, rc := range first {
				rc.closed(t, deadline, fmt.Sprintf("keyless connection %d of the first %d (%s)", i+1, max, rc.kind))
			}
			for _, rc := range second {
				rc.served(t)
			}
			if reused := getMe(t, c.client, c.ts.URL, key); !reused {
				t.Error("the key holder's connection was closed by connections without a key")
			}
			for _, rc := range second {
				rc.c.Close()
			}
		})
	}
	// One warning for both floods, which came within a minute.
	if n := strings.Count(logs.String(), "closing the oldest connections that have shown no key"); n != 1 {
		t.Errorf("the face warned %d times of closing connections without a key; want once:\n%s", n, logs.String())
	} else if !strings.Contains(logs.String(), "bound=4 closed=1") {
		t.Errorf("the warning does not say the bound and how many it closed:\n%s", logs.String())
	}
}

// TestIdleConnectionsOfAKeyAreBounded opens one connection more with a
// key than it may have requests in progress: the key's oldest idle
// connection is closed, not a busy one (an event stream) nor another
// key's. Before the bound, a stolen key could open connections, one
// request each, until the process ran out of descriptors.
func TestIdleConnectionsOfAKeyAreBounded(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	alice, bob := f.key("alice"), f.key("bob")
	dial := func() *rawConn { return dialRaw(t, f.ts, "silent") }
	var conns []*rawConn
	for range maxOpenPerKey {
		c := dial()
		c.get(t, "/api/v1/me", alice, http.StatusOK)
		conns = append(conns, c)
	}
	byBob := dial()
	byBob.get(t, "/api/v1/me", bob, http.StatusOK)
	stream := conns[0].request(t, "/api/v1/events", alice)
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/events: %s", stream.Status)
	}
	events := bufio.NewReader(stream.Body)
	readEvent(t, conns[0], events, "ready")

	dial().get(t, "/api/v1/me", alice, http.StatusOK)
	conns[1].closed(t, time.Now().Add(10*time.Second), fmt.Sprintf("alice's oldest idle connection, once she had %d", maxOpenPerKey+1))
	conns[2].get(t, "/api/v1/me", alice, http.StatusOK)
	byBob.get(t, "/api/v1/me", bob, http.StatusOK)
	if _, err := f.peer("carol").Send(ctxT(t), "alice", "still there?"); err != nil {
		t.Fatal(err)
	}
	readEvent(t, conns[0], events, "message")
}

// readEvent reads the event stream r of rc up to the next event called
// name.
func readEvent(t *testing.T, rc *rawConn, r *bufio.Reader, name string) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer rc.c.SetReadDeadline(time.Time{})
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the event stream, waiting for %q: %v", name, err)
		}
		if strings.TrimSpace(line) == "event: "+name {
			return
		}
	}
}

// getMe asks for /api/v1/me with key, and reports whether the request
// went on a connection used before.
func getMe(t *testing.T, hc *http.Client, base, key string) (reused bool) {
	t.Helper()
	trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctxT(t), trace), "GET", base+"/api/v1/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/me with a key: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me with a key: %s", resp.Status)
	}
	return reused
}

// rawConn is a connection to the face, left in one state.
type rawConn struct {
	kind    string
	host    string
	c       net.Conn
	r       *bufio.Reader
	started bool // the request line of a GET /health was sent
}

// dialRaw opens a connection to ts (with TLS's handshake done when ts
// has TLS) and leaves it as kind says: "silent" sends nothing, "idle"
// has had a GET /health answered, "headers" has sent part of a request.
func dialRaw(t *testing.T, ts *httptest.Server, kind string) *rawConn {
	t.Helper()
	addr := ts.Listener.Addr().String()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if ts.TLS != nil {
		tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		c = tc
	}
	rc := &rawConn{kind: kind, host: addr, c: c, r: bufio.NewReader(c)}
	switch kind {
	case "idle":
		rc.served(t)
	case "headers":
		if _, err := io.WriteString(c, "GET /health HTTP/1.1\r\n"); err != nil {
			t.Fatal(err)
		}
		rc.started = true
	}
	return rc
}

// request sends a GET of path with key ("" for none), or the rest of the
// GET /health begun, and reads the answer's head.
func (rc *rawConn) request(t *testing.T, path, key string) *http.Response {
	t.Helper()
	rc.c.SetDeadline(time.Now().Add(10 * time.Second))
	defer rc.c.SetDeadline(time.Time{})
	head := "GET " + path + " HTTP/1.1\r\n"
	if rc.started {
		head, rc.started = "", false
	}
	head += "Host: " + rc.host + "\r\n"
	if key != "" {
		head += "Authorization: Bearer " + key + "\r\n"
	}
	if _, err := io.WriteString(rc.c, head+"\r\n"); err != nil {
		t.Fatalf("%s connection: write: %v", rc.kind, err)
	}
	resp, err := http.ReadResponse(rc.r, nil)
	if err != nil {
		t.Fatalf("%s connection: GET %s: %v", rc.kind, path, err)
	}
	return resp
}

// get is request, reading the whole answer, which must have status.
func (rc *rawConn) get(t *testing.T, path, key string, status int) []byte {
	t.Helper()
	resp := rc.request(t, path, key)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("%s connection: GET %s: %v", rc.kind, path, err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s connection: GET %s: %s %s, want %d", rc.kind, path, resp.Status, body, status)
	}
	return body
}

// served checks that rc is still open: a request on it is answered.
func (rc *rawConn) served(t *testing.T) {
	t.Helper()
	rc.get(t, "/health", "", http.StatusOK)
}

// closed waits until deadline for the face to close rc.
func (rc *rawConn) closed(t *testing.T, deadline time.Time, what string) {
	t.Helper()
	rc.c.SetReadDeadline(deadline)
	_, err := rc.r.ReadByte()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%s is still open after 10s", what)
	} else if err == nil {
		t.Errorf("%s: the face sent more than was asked", what)
	}
	rc.c.Close()
}

// TestLargeHeadersAreRefused sends headers past maxHeaderBytes: refused
// with 431 before they are read whole, where net/http's own limit let each
// connection without a key hold a mebibyte of them. Headers of a size a
// browser sends with its cookies are served.
func TestLargeHeadersAreRefused(t *testing.T) {
	f := newFace(t, nil)
	for _, c := range []struct {
		size   int
		status int
	}{{8 << 10, http.StatusOK}, {100 << 10, http.StatusRequestHeaderFieldsTooLarge}} {
		rc := dialRaw(t, f.ts, "silent")
		rc.c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(rc.c, "GET /health HTTP/1.1\r\nHost: %s\r\nX-Pad: %s\r\n\r\n", rc.host, strings.Repeat("a", c.size))
		resp, err := http.ReadResponse(rc.r, nil)
		if err != nil {
			t.Fatalf("GET /health with %d bytes of headers: %v", c.size, err)
		}
		if resp.StatusCode != c.status {
			t.Errorf("GET /health with %d bytes of headers: %s, want %d", c.size, resp.Status, c.status)
		}
		rc.c.Close()
	}
}
