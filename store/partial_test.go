package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const backupChild = "IPCMESH_STORE_BACKUP_DIR"

// A broker killed with SIGKILL while it writes a backup into the data
// folder's backups/ leaves a partial copy there; the next Open removes it,
// and keeps the backups that were finished. Before, the partial copy, as
// large as the store, stayed for good, one more for each such kill.
func TestKilledDuringBackupLeavesNoPartialCopy(t *testing.T) {
	if dir := os.Getenv(backupChild); dir != "" {
		backupUntilKilled(dir)
		return
	}
	dir := t.TempDir()
	c := startChild(t, "TestKilledDuringBackupLeavesNoPartialCopy", backupChild, dir)
	for c.lines.Scan() && c.lines.Text() != "embedding" {
	}
	c.kill(t)
	backups := filepath.Join(dir, "backups")
	entries, _ := os.ReadDir(backups)
	if len(entries) != 2 {
		t.Fatalf("the killed backup left %d files in backups/, want the finished backup and the partial one (child: %s)", len(entries), c.stderr.String())
	}

	s := openIn(t, dir, func(o *Options) { o.LargeMessageBytes = 64 })
	entries, _ = os.ReadDir(backups)
	if len(entries) != 1 || entries[0].Name() != "done.db" {
		t.Fatalf("backups/ holds %v after the next Open, want only the finished backup", entries)
	}
	if _, body, err := s.Get("bob", "big"); err != nil || body != strings.Repeat("a large body ", 20) {
		t.Fatalf("the large message after the kill: %q, %v", body, err)
	}
}

// backupUntilKilled is the child of TestKilledDuringBackupLeavesNoPartialCopy:
// it finishes one backup, then starts another whose reading of the large
// bodies says "embedding" and never ends.
func backupUntilKilled(dir string) {
	s, err := Open(Options{Dir: dir, LargeMessageBytes: 64})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx := context.Background()
	if err := s.PutSession(ctx, Session{Name: "bob", ID: "sess-bob", Expires: time.Now().Add(time.Hour)}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := s.Append(ctx, []Draft{{ID: "big", From: "alice", To: "bob", Content: strings.Repeat("a large body ", 20)}}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	backups := filepath.Join(dir, "backups")
	if err := os.MkdirAll(backups, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := s.Backup(filepath.Join(backups, "done.db")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s.readFile = func(string) ([]byte, error) {
		fmt.Println("embedding")
		select {}
	}
	s.Backup(filepath.Join(backups, "killed.db"))
}
