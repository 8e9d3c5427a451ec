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
