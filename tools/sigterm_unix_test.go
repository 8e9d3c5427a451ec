//go:build unix

package tools_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// TestSIGTERMEndsAWaitingCheck: an `ipcmesh mcp` told to stop with
// SIGTERM, as a client that stops its server sends it, while a check of
// its waits for mail, leaves at once. It used to wait out the check's
// wait_seconds (up to 10 minutes), online under its name, and take the
// next message that came: marked read, answered to a client that was
// gone. Mail sent once it has gone waits for the name's next session.
func TestSIGTERMEndsAWaitingCheck(t *testing.T) {
	m := newMesh(t)
	alice, bob := m.pair()

	mcptest.WaitingCheck(t.Context(), bob.cs, "wait-term")
	mcptest.Await(t, bob.progress, "bob's check to wait")
	if err := bob.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The wait is 300 s; leaving takes well under a second.
	deadline := time.Now().Add(20 * time.Second)
	for strings.Contains(alice.ok("list_instances", nil), "bob: online") {
		if time.Now().After(deadline) {
			t.Fatal("bob's server is still online 20 s after SIGTERM: its waiting check holds it")
		}
		time.Sleep(20 * time.Millisecond)
	}

	alice.send("bob", "after the stop")
	again := m.start("bob again", startOpts{})
	again.register("bob")
	mcptest.Contains(t, "the next session's check", again.ok("check", nil), "after the stop")
}
