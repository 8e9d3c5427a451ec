package gateway

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestOpenPerKeyCapped checks that one key cannot hold open more than
// maxOpenPerKey requests and streams: the rate limit let a key open
// event streams, /sse streams and long waits without end, each holding a
// connection and a file descriptor of the face, until the face could
// take no connection from anyone. Another key is served meanwhile, and a
// stream that ends frees its place.
func TestOpenPerKeyCapped(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	key := f.key("alice")
	var streams []*stream
	for range maxOpenPerKey {
		s := f.events("/api/v1/events", key)
		s.nextEvent() // ready: the stream is counted
		streams = append(streams, s)
	}
	for _, path := range []string{"/api/v1/events", "/sse", "/api/v1/messages?wait=1s"} {
		e := f.fails(req{method: "GET", path: path, key: key}, 429, "rate_limited")
		if !strings.Contains(e.Error.Message, "in progress") || e.Error.RetryAfterMS <= 0 {
			t.Errorf("GET %s over the cap is told %+v", path, e.Error)
		}
	}
	f.fails(req{method: "POST", path: "/mcp", key: key, body: "{}"}, 429, "rate_limited")

	// Another key of the same name has places of its own.
	f.events("/api/v1/events", f.key("alice")).nextEvent()

	streams[0].resp.Body.Close()
	id := f.keyID(key)
	testbin.Eventually(t, 15*time.Second, "the closed stream to free its place", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return f.srv.sessions.open[id] < maxOpenPerKey
	})
	f.events("/api/v1/events", key).nextEvent()

	// Once the rest end, the key has nothing counted against it.
	for _, s := range streams[1:] {
		s.resp.Body.Close()
	}
	testbin.Eventually(t, 15*time.Second, "the key's streams to be uncounted", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return f.srv.sessions.open[id] <= 1
	})
}

// TestSlowMCPBodiesCountAgainstTheCap checks that a POST to /mcp whose
// body comes slowly counts against maxOpenPerKey while it comes: the
// face reads it to count a batch's calls, and read it before counting
// the request, so a key could hold any number of them open.
func TestSlowMCPBodiesCountAgainstTheCap(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	u, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	for range maxOpenPerKey {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: "+u.Host+"\r\nAuthorization: Bearer "+key+
			"\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n[")
	}
	id := f.keyID(key)
	testbin.Eventually(t, 15*time.Second, "the slow bodies to be counted", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return f.srv.sessions.open[id] == maxOpenPerKey
	})
	// The slow bodies made the key hold more than maxOpenPerKey
	// connections, so the face closed its oldest idle one: the register's,
	// which the client may still take from its pool before it reads the
	// close, and a POST on it fails with EOF rather than be answered.
	http.DefaultClient.CloseIdleConnections()
	f.fails(req{method: "POST", path: "/mcp", key: key, body: "{}"}, 429, "rate_limited")
}
