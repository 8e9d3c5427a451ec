package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A backup to another file system is copied there; a copy that fails (a
// full disk, here a file size limit) leaves the backup an earlier run
// wrote there as it was, and nothing half written beside it. Before, the
// copy truncated the earlier backup first, so a failed run lost both.
func TestFailedBackupCopyKeepsTheEarlierOne(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	other, err := os.MkdirTemp("/dev/shm", "ipcmesh-backup-test-")
	if err != nil {
		t.Skipf("no /dev/shm to back up to: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(other) })
	var a, b syscall.Stat_t
	if syscall.Stat(m.dir, &a) != nil || syscall.Stat(other, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the data folder's file system: the backup would be renamed, not copied")
	}
	m.startBroker()
	m.mustRun("register", "alice")
	big := strings.Repeat("a long report, line after line\n", 2000)
	m.mustRun("send", "--as", "alice", "bob", big)
	dst := filepath.Join(other, "mesh.backup")
	m.mustRun("backup", dst)
	earlier, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}

	// ulimit -f counts blocks of 512 or 1024 bytes: either way the limit
	// is below the size of the earlier backup, and of the next.
	limit := strconv.Itoa(len(earlier) / 2048)
	cmd := exec.Command("sh", "-c", `ulimit -f "$1" && shift && exec "$@"`, "sh", limit, ipcmeshBin, "backup", dst)
	p := startCmd(t, cmd, "ipcmesh backup (file size limited)", m.environ(), nil)
	if code := p.wait(runTimeout); code != 1 {
		t.Fatalf("a backup whose copy cannot be written: exit %d, want 1\nstderr: %s", code, p.stderr.String())
	}
	wantIn(t, "the failed copy's error", p.stderr.String(), dst)
	if now, err := os.ReadFile(dst); err != nil || !bytes.Equal(now, earlier) {
		t.Errorf("the earlier backup at %s is %d bytes (%v) after a failed copy, want its %d as they were", dst, len(now), err, len(earlier))
	}
	if left, _ := os.ReadDir(other); len(left) != 1 {
		t.Errorf("the failed copy left files beside the backup: %v", left)
	}
	if left, _ := os.ReadDir(filepath.Join(m.dir, "backups")); len(left) != 0 {
		t.Errorf("a failed backup left %d files in the data folder's backups/", len(left))
	}
}
