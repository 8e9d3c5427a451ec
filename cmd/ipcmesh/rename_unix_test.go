//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestRenameUnansweredIsFinishedByTheNextProcess: a process (an assistant's
// MCP server, or a one-shot ipcmesh rename) sends a rename to a broker
// that is stopped (Ctrl-Z), gets no answer and ends. The broker resumes
// and carries it out, or is killed first; either way another broker takes
// its place. The next command of the data folder, the same rename run
// again, a send as the new name or its register, acts as the new name,
// and the rename is done once, the old name's mail moved along. Before, nothing kept the
// rename's request id past the process: a rename carried out had revoked
// the only token the folder held, the rename run again failed with
// "carol was renamed to caroline", a send as caroline or its register
// with name_taken, until the new session expired a day later. The assistant's auto-check
// setting follows the name, as a rename answered moves it.
func TestRenameUnansweredIsFinishedByTheNextProcess(t *testing.T) {
	for _, tc := range []struct {
		name       string
		carriedOut bool
		next       []string
	}{
		{"carried out, rename again", true, []string{"rename", "--as", "carol", "caroline"}},
		{"carried out, send as the new name", true, []string{"send", "--as", "caroline", "alice", "hi alice"}},
		{"carried out, register the new name", true, []string{"register", "caroline"}},
		{"killed unread, rename again", false, []string{"rename", "--as", "carol", "caroline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMesh(t)
			broker := m.startBroker()
			cs, server := m.mcpProcess(t, "IPC_NAME=carol")
			t.Cleanup(func() { server.Process.Kill() })
			if text, isErr := assistantCall(t, cs, "check", nil); isErr {
				t.Fatalf("check as carol: %s", text)
			}
			m.mustRun("send", "--as", "alice", "carol", "before")
			if text, isErr := assistantCall(t, cs, "auto_check", map[string]any{"interval_minutes": 3}); isErr {
				t.Fatalf("auto_check as carol: %s", text)
			}

			testbin.Stop(t, broker.pid(), runTimeout)
			t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })
			text, isErr := assistantCall(t, cs, "rename", map[string]any{"new_name": "caroline"})
			if !isErr || !strings.Contains(text, "did not answer") {
				t.Fatalf("a rename the stopped broker did not answer: %q, want an error that says so", text)
			}
			if tc.carriedOut {
				if err := broker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
					t.Fatal(err)
				}
				testbin.Eventually(t, runTimeout, "the resumed broker to carry out the rename", func() bool {
					return listed(m)["caroline"]
				})
			}
			// The process that sent it ends (the client's Close waits for
			// it), and so does the broker.
			server.Process.Kill()
			cs.Close()
			broker.cmd.Process.Kill()
			broker.wait(runTimeout)

			r := m.mustRun(tc.next...)
			if tc.next[0] == "rename" && !strings.Contains(r.stdout, "renamed carol to caroline") {
				t.Errorf("the rename run again said %q, want that it renamed carol to caroline", r.stdout)
			}
			// The assistant's auto-check setting follows it to the new
			// name, which its hooks read it by.
			if set, err := autocheck.Load(m.dir, "caroline"); err != nil || set.IntervalMinutes != 3 {
				t.Errorf("caroline's auto-check setting: %+v, %v; want carol's, every 3 minutes", set, err)
			}
			if set, _ := autocheck.Load(m.dir, "carol"); set.IntervalMinutes != 0 {
				t.Errorf("carol's auto-check setting after the rename: %+v, want it off", set)
			}
			names := listed(m)
			if !names["caroline"] || names["carol"] {
				t.Errorf("registered after the rename: %v, want caroline and not carol", names)
			}
			m.mustRun("send", "--as", "alice", "carol", "after")
			var got []string
			for _, msg := range m.check("--as", "caroline").Messages {
				got = append(got, msg.Content)
			}
			if strings.Join(got, "|") != "before|after" {
				t.Errorf("caroline's mail: %q, want before (moved along) and after (forwarded), once each", got)
			}
		})
	}
}

// TestRenameCommandUnansweredSaysRunItAgain: a one-shot ipcmesh rename
// whose broker answers the handshake and the resume and then nothing (it
// was stopped just then) exits 1, saying that the rename may still be
// carried out and that running it again finishes it; run again once a
// broker answers, it renames once. The relay stands for the broker
// stopped between the resume and the rename.
func TestRenameCommandUnansweredSaysRunItAgain(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "carol")
	m.mustRun("send", "--as", "alice", "carol", "before")
	// The resume passes, the rename does not.
	msg := m.stallingAfter(t, 1).mustFail("rename", "caroline")
	for _, want := range []string{"did not answer rename", "may still be carried out", "run the same rename again", "it is done once"} {
		if !strings.Contains(msg, want) {
			t.Errorf("a rename that got no answer: %q does not say %q", msg, want)
		}
	}
	if out := m.mustRun("rename", "caroline").stdout; !strings.Contains(out, "renamed carol to caroline (1 unread moved along)") {
		t.Errorf("the rename run again: %q, want carol renamed to caroline with its mail", out)
	}
	if names := listed(m); !names["caroline"] || names["carol"] {
		t.Errorf("registered after the rename: %v, want caroline and not carol", names)
	}
}

// listed returns the names registered on m's mesh.
func listed(m *mesh) map[string]bool {
	m.t.Helper()
	var l []ipcmesh.Instance
	m.mustJSON(&l, "list", "--json")
	names := map[string]bool{}
	for _, in := range l {
		names[in.Name] = true
	}
	return names
}
