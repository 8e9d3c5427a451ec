package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestUnansweredSendNamesItsID: a send whose broker answers the handshake
// and the resume and then nothing (stopped, or stalled on its disk) may
// still be stored once the broker goes on. The error says so, and names
// the id that makes sending it again safe: the command run again with it
// stores the message once, however often it runs.
func TestUnansweredSendNamesItsID(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "bob")
	m.mustRun("register", "alice")
	// The resume passes, the send does not.
	msg := m.stallingAfter(t, 1).mustFail("send", "--as", "alice", "bob", "deploy done")
	for _, want := range []string{"did not answer send", "may still go once the broker answers again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("a send that got no answer: %q does not say %q", msg, want)
		}
	}
	id := regexp.MustCompile(`--id ([0-9a-f]{32})\b`).FindStringSubmatch(msg)
	if id == nil {
		t.Fatalf("a send that got no answer: %q names no --id to send it again with", msg)
	}
	for range 2 {
		m.mustRun("send", "--as", "alice", "--id", id[1], "bob", "deploy done")
	}
	if got := m.check("--as", "bob").Messages; len(got) != 1 || got[0].ID != id[1] {
		t.Errorf("bob's mail after the send was run again twice with its id: %+v, want the message once, under %s", got, id[1])
	}
}

// TestUnansweredBroadcastNamesItsID is TestUnansweredSendNamesItsID for a
// broadcast: the error names the id, and the broadcast run again with it,
// however often, leaves each recipient one copy.
func TestUnansweredBroadcastNamesItsID(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "bob")
	m.mustRun("register", "carol")
	m.mustRun("register", "alice")
	// The resume passes, the broadcast does not.
	msg := m.stallingAfter(t, 1).mustFail("broadcast", "--as", "alice", "deploy done")
	for _, want := range []string{"did not answer broadcast", "the broadcast may still go once the broker answers again"} {
		if !strings.Contains(msg, want) {
			t.Errorf("a broadcast that got no answer: %q does not say %q", msg, want)
		}
	}
	id := regexp.MustCompile(`--id ([0-9a-f]{32})\b`).FindStringSubmatch(msg)
	if id == nil {
		t.Fatalf("a broadcast that got no answer: %q names no --id to send it again with", msg)
	}
	for range 2 {
		m.mustRun("broadcast", "--as", "alice", "--id", id[1], "deploy done")
	}
	for _, name := range []string{"bob", "carol"} {
		if got := m.check("--as", name).Messages; len(got) != 1 || got[0].ID != id[1]+"."+name {
			t.Errorf("%s's mail after the broadcast was run again twice with its id: %+v, want its copy once, under %s.%s", name, got, id[1], name)
		}
	}
}

// TestUnansweredShareSaysHowToMakeSure is TestUnansweredSendNamesItsID
// for a share: the error says the content may still be stored, how to
// make sure it is (the same command again, which replaces what the key
// holds) and how to see what the key holds. Before, it said only that
// the broker did not answer.
func TestUnansweredShareSaysHowToMakeSure(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "alice")
	file := filepath.Join(t.TempDir(), "notes.md")
	if err := os.WriteFile(file, []byte("the plan"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The resume passes, the share does not.
	msg := m.stallingAfter(t, 1).mustFail("share", "--as", "alice", "notes", file)
	for _, want := range []string{
		"did not answer share",
		`the content for "notes" may still go once the broker answers again`,
		"to be sure it is stored, run the same command again: a share replaces what the key holds",
		"ipcmesh get notes shows what it holds now",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("a share that got no answer: %q does not say %q", msg, want)
		}
	}
	for range 2 {
		m.mustRun("share", "--as", "alice", "notes", file)
	}
	if got := m.mustRun("get", "notes").stdout; got != "the plan" {
		t.Errorf("get notes after the share was run again twice: %q, want %q", got, "the plan")
	}
}

// TestUnansweredAckOfACheckNamesTheBroker: a check whose broker answers
// the handshake, the resume and the check, and then not the ack of the
// messages it printed (stopped, or stalled on its disk), says which broker
// does not answer and that the messages printed may be shown again.
// Before, it ended with "context deadline exceeded", naming nothing.
func TestUnansweredAckOfACheckNamesTheBroker(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "bob")
	m.mustRun("send", "--as", "alice", "bob", "read me once")
	// The resume and the check pass, the ack does not.
	r := m.stallingAfter(t, 2).run("check", "--as", "bob")
	if !strings.Contains(r.stdout, "read me once") {
		t.Errorf("a check whose ack got no answer printed %q; want the message", r.stdout)
	}
	msg := oneLineError(t, r, "check")
	for _, want := range []string{"1 message printed may not be marked read", "shown again by the next check", "did not answer ack", "kill -CONT"} {
		if !strings.Contains(msg, want) {
			t.Errorf("a check whose ack got no answer: %q does not say %q", msg, want)
		}
	}
	if got := m.check("--as", "bob").Messages; len(got) != 1 || got[0].Content != "read me once" {
		t.Errorf("bob's mail after the ack that never reached the broker: %+v; want the message, still unread", got)
	}
}
