package tools_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// waitingAtBroker is how many checks and reply waits the mesh's broker
// holds open, as `ipcmesh status --json` says.
func (m *mesh) waitingAtBroker() int {
	m.t.Helper()
	out, err := m.command(nil, "status", "--json").Output()
	if err != nil {
		m.t.Fatalf("ipcmesh status --json: %v", err)
	}
	var st struct{ Waiting int }
	if err := json.Unmarshal(out, &st); err != nil {
		m.t.Fatalf("ipcmesh status --json printed %.300s: %v", out, err)
	}
	return st.Waiting
}

// TestCancelledCheckEndsAtTheBroker: a waiting check that its MCP client
// calls off (notifications/cancelled) ends at the broker too. Before, the
// part of its wait the server had asked the broker for ran on there for up
// to 30 s, counted by status among the checks waiting for mail, for a
// caller that had gone.
func TestCancelledCheckEndsAtTheBroker(t *testing.T) {
	m := newMesh(t)
	_, bob := m.pair()
	ctx, cancel := context.WithCancel(t.Context())
	done := mcptest.WaitingCheck(ctx, bob.cs, "wait-cancel")
	mcptest.Await(t, bob.progress, "bob's check to wait")
	testbin.Eventually(t, 20*time.Second, "the broker to hold bob's check", func() bool { return m.waitingAtBroker() == 1 })
	cancel()
	mcptest.Await(t, done, "the cancelled check to return")
	// Well under the 30 s the broker held a piece of the wait before.
	testbin.Eventually(t, 10*time.Second, "the broker to end bob's cancelled check", func() bool { return m.waitingAtBroker() == 0 })
	mcptest.Contains(t, "bob's next check", bob.ok("check", nil), "No new messages")
}
