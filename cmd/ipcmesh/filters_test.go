package main

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// "Wait for reviewer's reply" without a thread id, "what did I discuss
// with alice yesterday?", and a search by sender across a rename.
func TestSenderAndTimeFiltersCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "me", "alice", "reviewer")
	m.mustRun("send", "--as", "reviewer", "me", "first look: two nits")
	m.mustRun("check", "--as", "me")

	waiter := m.start(nil, "check", "--from", "reviewer", "--wait", "10m", "--as", "me")
	testbin.Eventually(t, runTimeout, "the check from reviewer to wait", func() bool { return m.status().Waiting == 1 })
	m.mustRun("send", "--as", "alice", "me", "lunch at noon?")
	m.mustRun("rename", "--as", "reviewer", "reviewer2")
	m.mustRun("send", "--as", "reviewer2", "me", "second look: ship it")
	waiter.waitLine(waiter.stdout, "ship it", runTimeout)
	if code := waiter.wait(runTimeout); code != 0 {
		t.Fatalf("check --from exited with status %d", code)
	}
	out := waiter.stdout.String()
	wantIn(t, "check --from", out, "reviewer2: second look: ship it", "(1 more unread, from others too: run check again)")
	wantNotIn(t, "check --from", out, "lunch")
	if c := m.check("--as", "me"); len(c.Messages) != 1 || c.Messages[0].From != "alice" {
		t.Errorf("a plain check after check --from = %+v, want alice's message only", c.Messages)
	}
	wantIn(t, "nothing more", m.mustRun("check", "--from", "reviewer2", "--as", "me").stdout, "No new messages from reviewer2 for me.")
	m.usageFails("check", "--from", "no/such", "--as", "me")

	// Mail sent before the rename is found under the new name.
	var found []ipcmesh.Message
	m.mustJSON(&found, "search", "--from", "reviewer2", "--json", "--as", "me")
	if len(found) != 2 || found[0].From != "reviewer2" || found[1].From != "reviewer" {
		t.Errorf("search --from reviewer2 found %+v, want its two messages, the first sent as reviewer", found)
	}

	wantIn(t, "history --since", m.mustRun("history", "--with", "alice", "--since", "1h", "--as", "me").stdout, "alice to me: lunch at noon?")
	wantIn(t, "history --until", m.mustRun("history", "--with", "alice", "--since", "48h", "--until", "24h", "--as", "me").stdout, "No messages.")
	for _, bad := range [][]string{
		{"--since", "yesterday"},
		{"--since", "1h", "--until", "2h"},
		{"--thread", "x", "--wait", "1s", "--since", "1h"},
	} {
		args := append([]string{"history", "--with", "alice", "--as", "me"}, bad...)
		if bad[0] == "--thread" {
			args = append([]string{"history", "--as", "me"}, bad...)
		}
		r := m.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("ipcmesh %s: want exit status 2 naming %s, got %s", strings.Join(args, " "), bad[0], r)
		}
	}
	r := m.run("history", "--with", "alice", "--since", "1h", "--until", "2h", "--as", "me")
	wantIn(t, "a window backwards", r.stderr, "swap them")
}

// A filter on a name no instance is registered as finds nothing, and says
// so, with the name likely meant: a mistyped name would otherwise read as
// a quiet inbox or an empty conversation, as the MCP tools already say.
func TestUnknownNameFilterSaysSoCLI(t *testing.T) {
	t.Parallel()
	m := collabMesh(t, "alice", "reviewer")
	hint := "No instance is registered as reviewr now: did you mean reviewer?"
	for _, args := range [][]string{
		{"check", "--as", "alice", "--from", "reviewr"},
		{"history", "--as", "alice", "--with", "reviewr"},
		{"search", "--as", "alice", "--from", "reviewr"},
		{"search", "fix", "--as", "alice", "--from", "reviewr"},
	} {
		wantIn(t, strings.Join(args, " "), m.mustRun(args...).stdout, hint)
	}
	// A registered name is no mistake, whatever it finds.
	for _, args := range [][]string{
		{"check", "--as", "alice", "--from", "reviewer"},
		{"history", "--as", "alice", "--with", "reviewer"},
		{"search", "--as", "alice", "--from", "reviewer"},
	} {
		wantNotIn(t, strings.Join(args, " "), m.mustRun(args...).stdout, "No instance is registered")
	}
}
