package tools_test

import (
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
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
