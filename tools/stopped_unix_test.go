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
	alice := m.start("alice", startOpts{})
	bob := m.start("bob", startOpts{})
	alice.register("alice")
	bob.register("bob")
	pid, ok := testbin.DetachedBroker(m.dataDir)
	if !ok {
		t.Fatal("no detached broker is running")
	}
	testbin.Stop(t, pid, 10*time.Second)
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGCONT) })

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
