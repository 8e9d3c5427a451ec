package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// waitersOf is how many checks of name wait at the face.
func (f *face) waitersOf(name string) int {
	sess := f.session(name)
	f.srv.sessions.mu.Lock()
	defer f.srv.sessions.mu.Unlock()
	return len(sess.waiters)
}

// TestMCPCallEndsWhenItsClientHangsUp checks that a check waiting for mail
// over /mcp ends when its client hangs up, at the protocol versions
// clients speak today as at the newest. The SDK ties a stateless call to
// its request only at 2026-07-28 and later: before, a check whose client
// had gone waited out its wait_seconds (up to 10 minutes), holding its
// goroutines, and took the next message that came, marked it read and
// answered it to nobody. The message must stay unread for the client's
// next check instead.
func TestMCPCallEndsWhenItsClientHangsUp(t *testing.T) {
	for _, version := range []string{"2025-06-18", "2025-03-26", ""} {
		name := version
		if name == "" {
			name = "newest"
		}
		t.Run(name, func(t *testing.T) { testMCPCallEndsWhenItsClientHangsUp(t, version) })
	}
}

func testMCPCallEndsWhenItsClientHangsUp(t *testing.T, version string) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key)}, version)

	ctx, hangUp := context.WithCancel(ctxT(t))
	defer hangUp()
	ended := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 600}})
		ended <- err
	}()
	f.awaitWaiters("alice", 1)
	hangUp()
	if err := <-ended; err == nil {
		t.Fatal("the check whose client hung up was answered")
	}

	// Not Eventually: a check still waiting must be seen to take the mail.
	deadline := time.Now().Add(10 * time.Second)
	for f.waitersOf("alice") > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := f.waitersOf("alice"); n > 0 {
		t.Errorf("%d checks of alice still wait 10 s after their client hung up", n)
	}

	if _, err := bob.Send(ctxT(t), "alice", "after the hang-up"); err != nil {
		t.Fatal(err)
	}
	var r checked
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &r)
	if len(r.Messages) != 1 || !strings.Contains(r.Messages[0].Content, "after the hang-up") {
		t.Fatalf("alice's unread mail after the hang-up is %+v: the check whose client had gone took the message", r.Messages)
	}
}
