package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestPeerWhoseProgramWasRemovedTakesOver: an upgrade that moves the
// install (a package manager's versioned folder) removes the file a
// running peer was started from. When the broker is lost, that peer still
// starts the next one, from the program it runs, rather than fail to take
// over and leave the mesh down until every peer restarts.
func TestPeerWhoseProgramWasRemovedTakesOver(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "sender")
	m.mustRun("register", "w")
	first, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("register started no detached broker")
	}

	exe, err := os.ReadFile(ipcmeshBin)
	if err != nil {
		t.Fatal(err)
	}
	old := filepath.Join(t.TempDir(), "ipcmesh")
	if err := os.WriteFile(old, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	w := startProc(t, m.environ(), nil, func(cmd *exec.Cmd) { cmd.Path, cmd.Args[0] = old, old }, "watch", "--as", "w")
	w.waitLine(w.stderr, "watching mail for w", startTimeout)
	if err := os.Remove(old); err != nil {
		t.Fatal(err)
	}

	if err := signalPID(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, 30*time.Second, "a peer to start the next broker", func() bool {
		if w.hasExited() {
			t.Fatalf("the watch whose program was removed exited when the broker was lost: %s", w.stderr.String())
		}
		pid, ok := testbin.DetachedBroker(m.dir)
		return ok && pid != first
	})
	m.mustRun("send", "--as", "sender", "w", "after the upgrade")
	if line := w.waitLine(w.stdout, "after the upgrade", startTimeout); !strings.Contains(line, "sender") {
		t.Errorf("watch printed %q, want sender's message", line)
	}
}
