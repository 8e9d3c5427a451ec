//go:build unix

package tools_test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestSendRetriedAfterNoAnswerGoesOnce: a send or broadcast to a broker
// that is stopped (Ctrl-Z) gives up unanswered, but the broker still holds
// the request and carries it out once it resumes. The model, told the call
// failed and that trying again is safe, sends the same message again: the
// recipient gets it once.
func TestSendRetriedAfterNoAnswerGoesOnce(t *testing.T) {
	m := newMesh(t)
	alice, bob := m.pair()
	pid := m.stopBroker()

	calls := map[string]map[string]any{
		"send":      {"to": "bob", "content": "deploy at noon"},
		"broadcast": {"content": "freeze at five"},
	}
	failed := make(chan string, len(calls))
	for tool, args := range calls {
		go func() {
			res, err := alice.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: tool, Arguments: args})
			switch {
			case err != nil:
				failed <- tool + ": " + err.Error()
			case !res.IsError:
				failed <- tool + " succeeded: " + mcptest.ResultText(res)
			default:
				failed <- tool + ": " + mcptest.ResultText(res)
			}
		}()
	}
	for range calls {
		text := mcptest.Await(t, failed, "a call the stopped broker did not answer")
		mcptest.Contains(t, "a call the stopped broker did not answer", text, "did not answer", "send the same message again")
	}
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for tool, args := range calls {
		alice.ok(tool, args)
	}

	got := bob.readAll()
	for _, want := range []string{"deploy at noon", "freeze at five"} {
		if n := strings.Count(got, want); n != 1 {
			t.Errorf("bob got %q, retried after no answer, %d times, want once:\n%s", want, n, got)
		}
	}
}

// TestShareUnansweredSaysHowToMakeSure: a share to a broker that is
// stopped gives up unanswered, and the broker stores it once it resumes.
// The model is told that it may still be stored and that sharing it again
// makes sure, which it does: the key holds the content.
func TestShareUnansweredSaysHowToMakeSure(t *testing.T) {
	m := newMesh(t)
	alice, bob := m.pair()
	pid := m.stopBroker()
	args := map[string]any{"key": "plan", "content": "ship on friday"}
	mcptest.Contains(t, "a share the stopped broker did not answer", alice.fails("share", args),
		"did not answer", "It may still be stored once the broker answers again", "share it again")
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	alice.ok("share", args)
	mcptest.Contains(t, "the key shared again", bob.ok("get_shared", map[string]any{"key": "plan"}), "ship on friday")
}

// TestRenameUnansweredIsPickedUp: a rename to a broker that is stopped
// gives up unanswered, and the broker carries it out once it resumes. The
// assistant then acts as the new name, whether it calls rename again, as
// the error told it to, or the broker is lost first and the next one is
// elected; before, it went on as the old name and, after the failover,
// had no name at all and its mail was out of reach. After the failover,
// the same rename called again says it is done, rather than refuse a
// rename to the name it has, and the auto-check setting has followed the
// name, as an answered rename moves it: before, it stayed with the old
// name, and the hooks, which read it by the new one, showed no mail.
func TestRenameUnansweredIsPickedUp(t *testing.T) {
	for _, then := range []string{"rename again", "broker killed"} {
		t.Run(then, func(t *testing.T) {
			m := newMesh(t)
			alice, bob := m.pair()
			bob.ok("auto_check", map[string]any{"interval_minutes": 3})
			pid := m.stopBroker()

			rename := map[string]any{"new_name": "robert"}
			mcptest.Contains(t, "a rename the stopped broker did not answer", bob.fails("rename", rename), "did not answer", "call rename again")
			if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
				t.Fatal(err)
			}
			// The resumed broker carries out the rename it held in its own
			// time: nothing tells another instance when.
			testbin.Eventually(t, 10*time.Second, "the resumed broker to carry out the rename", func() bool {
				return strings.Contains(alice.ok("list_instances", nil), "robert")
			})
			switch then {
			case "rename again":
				mcptest.Contains(t, "the rename called again", bob.ok("rename", rename), "Renamed bob to robert")
			case "broker killed":
				m.killBroker()
			}
			alice.send("robert", "for robert")
			mcptest.Contains(t, "check as the new name", bob.ok("check", nil), "for robert:", "for robert")
			mcptest.Contains(t, "list as the new name", bob.ok("list_instances", nil), "robert (you)")
			mcptest.Contains(t, "auto_check as the new name", bob.ok("auto_check", nil), "every 3 minutes for robert")
			if then == "broker killed" {
				mcptest.Contains(t, "the rename called again after the failover", bob.ok("rename", rename), "Renamed bob to robert")
			}
		})
	}
}

// stopBroker stops the mesh's detached broker as Ctrl-Z does, and returns
// its process id; the broker goes on when the test ends, if not before.
func (m *mesh) stopBroker() int {
	m.t.Helper()
	pid := m.brokerPID()
	testbin.Stop(m.t, pid, 10*time.Second)
	m.t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })
	return pid
}
