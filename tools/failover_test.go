package tools_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// killBroker kills the mesh's detached broker with SIGKILL and waits until
// it is gone, so that whatever the test does next reaches the broker the
// peers elect after it.
func (m *mesh) killBroker() {
	t := m.t
	t.Helper()
	pid := m.brokerPID()
	p, err := os.FindProcess(pid)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, 10*time.Second, fmt.Sprintf("the killed broker (pid %d) to exit", pid), func() bool { return !testbin.Alive(pid) })
}

// pair starts the MCP servers of two assistants, registered as alice and
// bob.
func (m *mesh) pair() (alice, bob *assistant) {
	alice = m.start("alice", startOpts{})
	bob = m.start("bob", startOpts{})
	alice.register("alice")
	bob.register("bob")
	return alice, bob
}

// brokerPID is the process id of the mesh's detached broker.
func (m *mesh) brokerPID() int {
	m.t.Helper()
	pid, ok := testbin.DetachedBroker(m.dataDir)
	if !ok {
		m.t.Fatal("no detached broker is running")
	}
	return pid
}

// readAll checks until no mail is left and returns every page.
func (a *assistant) readAll() string {
	a.t.Helper()
	var got string
	for {
		page := a.ok("check", nil)
		if strings.HasPrefix(page, "No new messages") {
			return got
		}
		got += page
	}
}

// TestStateSurvivesBrokerKill: what an assistant set up before the broker
// was killed holds on the next one: its name after a rename and the
// forwarding of the old name, its channel membership, its auto_check
// setting, its subscription to pushes, and a check that was waiting for
// mail when the broker died returns mail sent after the election.
func TestStateSurvivesBrokerKill(t *testing.T) {
	m := newMesh(t)
	alice, bob := m.pair()
	mcptest.Contains(t, "rename", bob.ok("rename", map[string]any{"new_name": "robert"}), "Renamed bob to robert")
	alice.ok("channels", map[string]any{"action": "create", "name": "team", "description": "the team"})
	bob.ok("channels", map[string]any{"action": "join", "name": "team"})
	bob.ok("auto_check", map[string]any{"interval_minutes": 3})
	if err := bob.cs.Subscribe(t.Context(), &mcp.SubscribeParams{URI: "ipc://inbox"}); err != nil {
		t.Fatal(err)
	}
	mcptest.Await(t, bob.acked, "subscriptions/acknowledged")

	done := mcptest.WaitingCheck(t.Context(), bob.cs, "wait-kill")
	mcptest.Await(t, bob.progress, "bob's check to wait")
	m.killBroker()

	// Sent after the kill: it can only reach the next broker.
	mcptest.Contains(t, "send to the old name after the kill", alice.send("bob", "after the kill"), "robert")
	r := mcptest.Await(t, done, "the check waiting across the kill to return")
	if r.Err != nil {
		t.Fatalf("the check waiting across the kill: %v", r.Err)
	}
	if r.Res.IsError {
		t.Fatalf("the check waiting across the kill failed: %s", mcptest.ResultText(r.Res))
	}
	mcptest.Contains(t, "the check waiting across the kill", mcptest.ResultText(r.Res), "for robert", "after the kill")

	// The subscription holds: the post is pushed. "after the kill" may
	// come first, or not at all: stored before bob's peer had resumed,
	// it was pushed to nobody, and the peer's read of the inbox after the
	// reconnect hands on only what is still unread, which it is not once
	// the waiting check returned it first.
	alice.send("#team", "to the team")
	for n := bob.nextChannel(); n.Content != "to the team"; n = bob.nextChannel() {
	}
	mcptest.Contains(t, "check after the kill", bob.ok("check", nil), "for robert", "#team", "to the team")
	mcptest.Contains(t, "list after the kill", bob.ok("list_instances", nil), "robert (you)")
	mcptest.Contains(t, "auto_check after the kill", bob.ok("auto_check", nil), "every 3 minutes")
}

// TestToolCallsAcrossBrokerKill: tool calls made while the broker dies and
// the next is elected all answer, and every send answered as sent is
// stored once.
func TestToolCallsAcrossBrokerKill(t *testing.T) {
	m := newMesh(t)
	alice, bob := m.pair()
	pid := m.brokerPID()
	const n = 30
	type res struct {
		text  string
		isErr bool
		err   error
	}
	results := make(chan res, 2*n)
	for i := range n {
		for _, a := range []*assistant{alice, bob} {
			go func() {
				to := "bob"
				if a == bob {
					to = "alice"
				}
				r, err := a.cs.CallTool(t.Context(), &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": to, "content": fmt.Sprintf("%s %d", a.label, i)}})
				if err != nil {
					results <- res{err: err}
					return
				}
				results <- res{text: mcptest.ResultText(r), isErr: r.IsError}
			}()
		}
		if i == n/3 {
			p, err := os.FindProcess(pid)
			if err == nil {
				err = p.Kill()
			}
			if err != nil {
				t.Fatalf("kill the broker: %v", err)
			}
		}
	}
	for range 2 * n {
		r := mcptest.Await(t, results, "a send's answer")
		if r.err != nil || r.isErr {
			t.Errorf("a send across the kill: %v %s", r.err, r.text)
		}
	}
	for _, a := range []*assistant{alice, bob} {
		got := a.readAll()
		for i := range n {
			other := "alice"
			if a == alice {
				other = "bob"
			}
			if c := strings.Count(got+"\n", fmt.Sprintf("> %s %d\n", other, i)); c != 1 {
				t.Errorf("%s has %q %d times in:\n%s", a.label, fmt.Sprintf("%s %d", other, i), c, got)
			}
		}
	}
}
