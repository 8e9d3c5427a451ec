package cli

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// hintPages is what followHints saw: the notes on each page, and the
// hint that led on from it.
type hintPages struct {
	notes [][]string
	hints []string
}

// followHints runs history with args, then the command each page's hint
// of kind ("older messages", "later messages") gives, up to five pages,
// and returns which of the notes 1 to 5 each page showed.
func followHints(t *testing.T, m *hookMesh, kind string, args ...string) hintPages {
	t.Helper()
	var pages hintPages
	for len(pages.notes) < 5 {
		r := m.run("", "history", args...)
		if r.code != 0 {
			t.Fatalf("history %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
		var notes []string
		for _, n := range []string{"note 1", "note 2", "note 3", "note 4", "note 5"} {
			if strings.Contains(r.stdout, n) {
				notes = append(notes, n)
			}
		}
		pages.notes = append(pages.notes, notes)
		_, hint, ok := strings.Cut(r.stdout, "("+kind+": ipcmesh history ")
		if !ok {
			break
		}
		hint, _, _ = strings.Cut(hint, ")")
		pages.hints = append(pages.hints, hint)
		args = strings.Fields(hint)
	}
	return pages
}

// TestHistoryOlderHintActsAsTheSameName pages back through alice's
// conversation with bob while bob is the data folder's default name: the
// command the hint suggests acts as alice again, with the same --limit,
// and shows the next page.
func TestHistoryOlderHintActsAsTheSameName(t *testing.T) {
	m := newHookMesh(t)
	alice := m.peer("alice")
	m.peer("bob") // registered last: the data folder's default name
	for i := 1; i <= 5; i++ {
		m.send(alice, "bob", fmt.Sprintf("note %d", i))
	}

	pages := followHints(t, m, "older messages", "--as", "alice", "--with", "bob", "--limit", "2")
	for i, hint := range pages.hints {
		for _, want := range []string{"--as alice", "--limit 2"} {
			if !strings.Contains(hint, want) {
				t.Errorf("page %d: the hint %q does not carry %s", i+1, hint, want)
			}
		}
	}
	want := [][]string{{"note 4", "note 5"}, {"note 2", "note 3"}, {"note 1"}}
	if fmt.Sprint(pages.notes) != fmt.Sprint(want) {
		t.Errorf("paging back by the hints showed %q; want %q", pages.notes, want)
	}
}

// TestHistoryWithARenamedName: the conversation with a name renamed since
// is shown, under the new name, and paged on by it.
func TestHistoryWithARenamedName(t *testing.T) {
	m := newHookMesh(t)
	alice := m.peer("alice")
	bob := m.peer("bob")
	for i := 1; i <= 3; i++ {
		m.send(alice, "bob", fmt.Sprintf("note %d", i))
	}
	if _, err := bob.Rename(hookCtx(t), "robert"); err != nil {
		t.Fatal(err)
	}
	r := m.run("", "history", "--as", "alice", "--with", "bob", "--limit", "2")
	if r.code != 0 {
		t.Fatalf("history --with bob: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"bob is now robert", "note 3", "note 2", "alice to robert (sent to its old name bob)", "--with robert --limit 2 --before"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history --with bob, renamed robert, does not show %q:\n%s", want, r.stdout)
		}
	}
}

// TestHistoryThreadReadsOnByTheHint reads a thread a page at a time,
// oldest first, each page's hint being the command for the next.
func TestHistoryThreadReadsOnByTheHint(t *testing.T) {
	m := newHookMesh(t)
	alice := m.peer("alice")
	bob := m.peer("bob")
	root, err := alice.Send(t.Context(), "bob", "note 1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 5; i++ {
		if _, err := bob.SendMessage(t.Context(), ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: fmt.Sprintf("note %d", i), ReplyTo: root.Message.ID}}); err != nil {
			t.Fatal(err)
		}
	}

	pages := followHints(t, m, "later messages", "--as", "alice", "--thread", root.Message.ID, "--limit", "2")
	want := [][]string{{"note 1", "note 2"}, {"note 3", "note 4"}, {"note 5"}}
	if fmt.Sprint(pages.notes) != fmt.Sprint(want) {
		t.Errorf("reading on by the hints showed %q; want %q", pages.notes, want)
	}
	if r := m.run("", "history", "--as", "alice", "--with", "bob", "--after", "3"); r.code != 2 || !strings.Contains(r.stderr, "--thread") {
		t.Errorf("--after without --thread: exit %d, stderr %q; want 2 and a word of --thread", r.code, r.stderr)
	}
}

// A thread's page holds up to 200 messages when --limit is left out, not
// the 20 of a conversation's: the help and the error for a limit out of
// range say which default applies.
func TestHistoryLimitSaysTheThreadsDefault(t *testing.T) {
	m := newHookMesh(t)
	r := m.run("", "history", "--thread", "x", "--limit", "201")
	if r.code != 2 || !strings.Contains(r.stderr, "leave it out for 200") {
		t.Errorf("history --thread x --limit 201: exit %d, stderr %q; want 2 and the thread's default, 200", r.code, r.stderr)
	}
	r = m.run("", "history", "--with", "bob", "--limit", "201")
	if r.code != 2 || !strings.Contains(r.stderr, "leave it out for 20\n") {
		t.Errorf("history --with bob --limit 201: exit %d, stderr %q; want 2 and a conversation's default, 20", r.code, r.stderr)
	}
	r = m.run("", "history", "--help")
	if !strings.Contains(r.stdout, "200 of a thread") {
		t.Errorf("history --help does not give a thread's default page:\n%s", r.stdout)
	}
}
