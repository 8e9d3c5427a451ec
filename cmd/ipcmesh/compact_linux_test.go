package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// compact --dry-run while a broker serves asks it how much of the store
// is free rather than write a copy; on a disk without room for the copy
// it now fails as a dry run with no broker does, saying how much room
// the copy takes and where to free it. Before, it said what the compact
// would give back, exit 0, and the compact then failed for want of room.
func TestCompactDryRunOnAFullDisk(t *testing.T) {
	t.Parallel()
	disk := t.TempDir()
	if err := syscall.Mount("tmpfs", disk, "tmpfs", 0, "size=8m"); err != nil {
		t.Skipf("cannot mount a small file system to fill (a user without the right): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(disk, syscall.MNT_DETACH) })
	m := newMesh(t).withDir(filepath.Join(disk, "data"))
	m.startBroker()
	m.mustRun("register", "alice")
	m.mustRun("register", "bob")
	lines := strings.Repeat(strings.Repeat("y", 2000)+"\n", 1200)
	if r := m.runIn(lines, "send", "--as", "alice", "bob", "-", "--lines"); r.code != 0 {
		t.Fatalf("send --lines: %s", r)
	}
	// Leave the disk less room than the store holds.
	var st syscall.Statfs_t
	if err := syscall.Statfs(disk, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	if err := os.WriteFile(filepath.Join(disk, "filler"), make([]byte, free-512<<10), 0o600); err != nil {
		t.Fatal(err)
	}

	msg := m.mustFail("compact", "--dry-run")
	wantIn(t, "compact --dry-run on a full disk", msg, "no room for its copy", "free space in "+m.dir, "nothing was changed")
	if r := m.run("compact", "--dry-run", "--json"); r.code != 1 {
		t.Errorf("compact --dry-run --json on a full disk: %s, want exit 1", r)
	}
}
