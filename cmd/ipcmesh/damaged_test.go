//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
	says("a new send", m.mustFail("send", "--as", "alice", "carol", "during"))

	out := m.mustRun("restore", backup).stdout
	if !strings.Contains(out, "damaged store was set aside") {
		t.Errorf("restore over the damaged store says %q, not where the damaged store went", out)
	}
	var text string
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
