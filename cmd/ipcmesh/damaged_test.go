//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestDamagedStore: the store is cut short under a running mesh and its
// broker dies. The assistant's MCP server lives on: its tools answer with
// an error that names the file and ipcmesh restore. A new command fails the
// same way, with a one-line error, not a crash. Once the backup is
// restored, the same MCP server sends and receives again.
func TestDamagedStore(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	assistant := m.registeredAssistant(t, "carol")
	m.mustRun("send", "--as", "alice", "carol", "before")
	backup := filepath.Join(t.TempDir(), "backup.db")
	m.mustRun("backup", backup)

	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("no detached broker serves the mesh")
	}
	db := filepath.Join(m.dir, "ipcmesh.db")
	if err := os.Truncate(db, 16<<10); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}

	says := func(what, msg string) {
		t.Helper()
		for _, want := range []string{db, "damaged", "ipcmesh restore", "backups/"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s on a damaged store: %q does not say %q", what, msg, want)
			}
		}
	}
	for tool, args := range map[string]map[string]any{
		"send":           {"to": "alice", "content": "during"},
		"list_instances": nil,
	} {
		text, isErr := assistantCall(t, assistant, tool, args)
		if !isErr {
			t.Fatalf("MCP %s on a damaged store succeeded: %q", tool, text)
		}
		says("MCP "+tool, text)
	}
	// A damaged store stays damaged: the MCP server, which tries to rejoin
	// the mesh every second, must not start a broker each time only to
	// hear that again, yet its tools must still say so.
	testbin.Eventually(t, runTimeout, "a detached broker to log that the store is damaged", func() bool {
		return damagedStarts(t, m.dir) > 0
	})
	before := damagedStarts(t, m.dir)
	// Four of the server's attempts to rejoin: the time under test, not a
	// wait for an event.
	time.Sleep(4 * time.Second)
	// The broker whose report the tools repeated may log just after it.
	if started := damagedStarts(t, m.dir) - before; started > 1 {
		t.Errorf("%d more detached brokers were started on the damaged store within 4s; want none until it changes", started)
	}
	text, isErr := assistantCall(t, assistant, "send", map[string]any{"to": "alice", "content": "still during"})
	if !isErr {
		t.Fatalf("MCP send on a damaged store, later, succeeded: %q", text)
	}
	says("MCP send, later", text)
	says("a new send", m.mustFail("send", "--as", "alice", "carol", "during"))

	out := m.mustRun("restore", backup).stdout
	if !strings.Contains(out, "damaged store was set aside") {
		t.Errorf("restore over the damaged store says %q, not where the damaged store went", out)
	}
	testbin.Eventually(t, runTimeout, "the MCP server to reach the restored store", func() bool {
		var isErr bool
		text, isErr = assistantCall(t, assistant, "check", nil)
		return !isErr
	})
	if !strings.Contains(text, "before") {
		t.Errorf("check after the restore: %q lacks the message sent before the backup", text)
	}
	if text, isErr := assistantCall(t, assistant, "send", map[string]any{"to": "alice", "content": "after"}); isErr {
		t.Errorf("send after the restore: %s", text)
	}
}

// damagedStarts counts the detached brokers that logged, in dir's broker
// log, that they could not serve because the store is damaged.
func damagedStarts(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "broker.log"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for l := range strings.Lines(string(b)) {
		if strings.HasPrefix(l, "ipcmesh broker:") && strings.Contains(l, "damaged") {
			n++
		}
	}
	return n
}
