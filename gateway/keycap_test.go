package gateway

import (
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
