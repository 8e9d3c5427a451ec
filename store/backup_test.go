package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

func TestBackup(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "alice", "bob")
	for _, id := range ids("m", 10) {
		send(t, s, id, "alice", "bob", "body "+id)
	}
	s.Ack(context.Background(), "bob", []string{"m0", "m1"})

	dir := filepath.Join(t.TempDir(), "restored")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ipcmesh.db")
	if err := s.Backup(path); err != nil {
		t.Fatal(err)
	}
	// A second backup replaces the first in place.
	if err := s.Backup(path); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("backup left %d files, want 1", len(entries))
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode() != 0o600 {
			t.Fatalf("backup mode %v, want 0600", fi.Mode())
		}
	}

	r, err := Open(Options{Dir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, want := unreadIDs(t, r, "bob"), unreadIDs(t, s, "bob"); !slices.Equal(got, want) {
		t.Fatalf("restored unread %v, want %v", got, want)
	}
	if _, body, err := r.Get("bob", "m0"); err != nil || body != "body m0" {
		t.Fatalf("restored history: %q %v", body, err)
	}
	a, _ := s.Stats()
	b, _ := r.Stats()
	if a != b {
		t.Fatalf("restored Stats %+v, want %+v", b, a)
	}
}

func TestBackupToMissingFolder(t *testing.T) {
	s, _ := openTest(t, nil)
	if err := s.Backup(filepath.Join(t.TempDir(), "no", "such", "x.db")); err == nil {
		t.Fatal("Backup into a missing folder succeeded")
	}
}
