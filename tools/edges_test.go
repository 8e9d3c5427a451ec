package tools_test

import (
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// TestBrokerRulesReachTheTools: the rules the broker holds every face to
// reach the MCP tools, in the broker's words: a message of only
// whitespace is refused as an empty one is, and a new name may not begin
// with '-'. Nothing is stored.
func TestBrokerRulesReachTheTools(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]
	mcptest.Contains(t, "a blank send", alice.fails("send", map[string]any{"to": "bob", "content": " \n\t"}),
		`the message to "bob" holds only whitespace (3 bytes`, "give it some content")
	mcptest.Contains(t, "a blank post", alice.fails("broadcast", map[string]any{"content": "\n\n"}),
		"the broadcast holds only whitespace")
	mcptest.Contains(t, "check after the refusals", bob.ok("check", nil), "No new messages for bob")

	carol := m.start("carol", startOpts{})
	mcptest.Contains(t, "register -carol", carol.fails("register", map[string]any{"name": "-carol"}),
		`name "-carol" begins with '-'`, "(carol, say)")
}

// TestWaitPastTheMostIsCutAndSaid: a wait_seconds over the most one call
// waits (600) is cut to it, not refused, as the HTTP face cuts its waits,
// and the answer says so, whatever it holds: the model learns the most,
// and never takes a cut wait for the whole one it asked for.
func TestWaitPastTheMostIsCutAndSaid(t *testing.T) {
	m := newMesh(t)
	team := m.team("alice", "bob")
	alice, bob := team[0], team[1]
	ask := sentID(t, alice.ok("send", map[string]any{"to": "bob", "content": "please review", "type": "request"}))

	const note = "wait_seconds is at most 600, 10m: 3600 was cut to 600; to wait longer, call again"
	got := bob.ok("check", map[string]any{"wait_seconds": 3600})
	mcptest.Contains(t, "check waiting 3600 s", got, "please review", note)
	mcptest.NotContains(t, "check waiting 1 s", bob.ok("check", map[string]any{"wait_seconds": 1}), "at most 600")

	bob.ok("send", map[string]any{"to": "alice", "content": "looks good", "type": "response", "reply_to": ask})
	got = alice.ok("history", map[string]any{"thread": ask, "wait_seconds": 3600})
	mcptest.Contains(t, "a thread's wait of 3600 s", got, "looks good", note)
}
