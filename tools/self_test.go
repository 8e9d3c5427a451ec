package tools_test

import (
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A send to the name the assistant acts as is refused and stores nothing.
func TestSendToYourselfRefused(t *testing.T) {
	m := newMesh(t)
	alice := m.start("alice", startOpts{})
	alice.register("alice")
	mcptest.Contains(t, "send to yourself", alice.fails("send", map[string]any{"to": "alice", "content": "note to self"}),
		"you are alice", "nothing was sent")
	mcptest.Contains(t, "check", alice.ok("check", nil), "No new messages for alice")
}

// A send to a name the assistant had before a rename is refused as well:
// the forward would bring it back to the assistant's own inbox.
func TestSendToYourFormerNameRefused(t *testing.T) {
	m := newMesh(t)
	alice := m.start("alice", startOpts{})
	alice.register("alice")
	alice.ok("rename", map[string]any{"new_name": "alicia"})
	mcptest.Contains(t, "send to a former name", alice.fails("send", map[string]any{"to": "alice", "content": "for the other alice"}),
		`cannot send to "alice"`, "alice is your own former name (you are alicia now)", "nothing was sent")
	mcptest.Contains(t, "check", alice.ok("check", nil), "No new messages for alicia")
}

// A send that names an idempotency key used before sends nothing new, and
// says so: a retry is answered with the message sent then, and a call
// that reused the key for another text does not read as if it went out.
func TestSendWithAUsedKeySaysNothingNewWasSent(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	bob := mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	send := func(content string) string {
		t.Helper()
		params := &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": content},
			Meta: mcp.Meta{tools.IdempotencyMeta: "retry-key-0001"}}
		res, err := c.Session.CallTool(t.Context(), params)
		if err != nil || res.IsError {
			t.Fatalf("send %q: %v %s", content, err, mcptest.ResultText(res))
		}
		return mcptest.ResultText(res)
	}
	mcptest.NotContains(t, "first send", send("first"), "nothing new")
	mcptest.Contains(t, "the same key again", send("second"), "Delivered to bob", "Id retry-key-0001", "nothing new was sent")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "first" {
		t.Errorf("bob's inbox: %+v, want the first message alone", r.Messages)
	}
}
