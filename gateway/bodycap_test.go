package gateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestBodiesInProgressPerKey checks that the bodies a key's requests
// carry are bounded while they are in progress, whatever their number: a
// key could make the face hold up to maxOpenPerKey bodies of the limit at
// once, 1 GiB with the default limit. Here the limit is 64 KiB, so a key
// may have 128 KiB in progress: two requests whose 60 KiB bodies do not
// come hold it (one a send, one an MCP call: they count alike), a third
// is refused before its body is read, another key is not held up, and
// once the two end the key sends again.
func TestBodiesInProgressPerKey(t *testing.T) {
	const limit, size = 64 << 10, 60 << 10
	f := newFace(t, func(o *Options) { o.Rate, o.Burst, o.MaxBody = 1e9, 1<<30, limit })
	alice, bob := f.key("alice"), f.key("bob")
	f.ok(req{method: "POST", path: "/api/v1/register", key: alice}, 200, nil)
	f.ok(req{method: "POST", path: "/api/v1/register", key: bob}, 200, nil)
	var held []net.Conn
	for _, path := range []string{"/api/v1/messages", "/mcp"} {
		c, _ := rawRequest(t, f, "POST "+path, alice,
			fmt.Sprintf("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n", size), "{")
		held = append(held, c)
	}
	id := f.keyID(alice)
	testbin.Eventually(t, 15*time.Second, "the two bodies that do not come to be counted", func() bool {
		return f.srv.bodies.inProgress(id) == 2*size
	})

	send := fmt.Sprintf(`{"to":"carol","content":%q}`, strings.Repeat("b", size-40))
	e := refusedBeforeItsBody(t, f, "/api/v1/messages", alice, len(send))
	if !strings.Contains(e.Error.Message, "120.0 KiB of bodies") || !strings.Contains(e.Error.Message, "at most 128.0 KiB for one key") || e.Error.RetryAfterMS <= 0 {
		t.Errorf("a send past the key's bodies in progress: %q (retry after %d ms); want it to say what is in progress and the bound, and when to try again", e.Error.Message, e.Error.RetryAfterMS)
	}
	refusedBeforeItsBody(t, f, "/mcp", alice, size)
	f.ok(req{method: "POST", path: "/api/v1/messages", key: bob, body: send}, 201, nil)
	// A body sent in chunks, with no length, counts as it is read: alice's
	// is refused once it passes what is left of her bound; bob's is taken,
	// and uncounted once done.
	if status := chunkedSend(t, f, alice, size); !strings.Contains(status, " 429 ") {
		t.Errorf("a send in chunks past the key's bodies in progress was answered %q, want 429", status)
	}
	if status := chunkedSend(t, f, bob, size); !strings.Contains(status, " 201 ") {
		t.Errorf("a send in chunks within the key's bound was answered %q, want 201", status)
	}
	testbin.Eventually(t, 15*time.Second, "bob's bodies to be uncounted once his requests ended", func() bool {
		return f.srv.bodies.inProgress(f.keyID(bob)) == 0
	})
	// Bodies in chunks count what has come of them, not the limit: three
	// of bob's whose first byte came do not hold up his next send.
	for range 3 {
		slowRequest(t, f, "POST /api/v1/messages", bob, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", "1\r\n{\r\n")
	}
	testbin.Eventually(t, 15*time.Second, "the first bytes of bob's three bodies in chunks to be counted", func() bool {
		return f.srv.bodies.inProgress(f.keyID(bob)) == 3
	})
	f.ok(req{method: "POST", path: "/api/v1/messages", key: bob, body: send}, 201, nil)

	for _, c := range held {
		c.Close()
	}
	testbin.Eventually(t, 15*time.Second, "the bodies of the requests whose clients went to be uncounted", func() bool {
		return f.srv.bodies.inProgress(id) == 0
	})
	f.ok(req{method: "POST", path: "/api/v1/messages", key: alice, body: send}, 201, nil)
}

// refusedBeforeItsBody sends the headers of a POST to path as key that
// declare a JSON body of size bytes, and returns the error it is
// answered with, which must be 429 rate_limited: it is refused before
// its body is read. The body is never sent: the face closes the
// connection after such a refusal without reading what came of the
// body, and bytes of it that reach the closed socket make it reset the
// connection, which can take the answer with it before the client reads
// it (Go's client then says "write: broken pipe").
func refusedBeforeItsBody(t *testing.T, f *face, path, key string, size int) apiError {
	t.Helper()
	_, br := rawRequest(t, f, "POST "+path, key,
		fmt.Sprintf("Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n", size), "")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("POST %s past the key's bodies in progress: %v", path, err)
	}
	defer resp.Body.Close()
	var e apiError
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusTooManyRequests || e.Error.Code != "rate_limited" {
		t.Fatalf("POST %s past the key's bodies in progress: status %d, error %+v (%v); want 429 rate_limited", path, resp.StatusCode, e.Error, err)
	}
	return e
}

// chunkedSend sends a message of about size bytes as key, its body in
// chunks of 4 KiB with no length declared, and returns the answer's
// status line.
func chunkedSend(t *testing.T, f *face, key string, size int) string {
	t.Helper()
	var body strings.Builder
	for rest := fmt.Sprintf(`{"to":"carol","content":%q}`, strings.Repeat("c", size-40)); rest != ""; {
		piece := rest[:min(len(rest), 4<<10)]
		rest = rest[len(piece):]
		fmt.Fprintf(&body, "%x\r\n%s\r\n", len(piece), piece)
	}
	body.WriteString("0\r\n\r\n")
	line, err := slowRequest(t, f, "POST /api/v1/messages", key, "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", body.String()).ReadString('\n')
	if err != nil {
		t.Fatalf("the answer to a send in chunks: %v", err)
	}
	return line
}
