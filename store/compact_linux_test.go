package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Sends a broker acked into the send journal before it was killed are
// part of the store a compact copies: they are stored first, and the
// journal, which names a commit of the file the copy replaces, is cleared.
func TestCompactOverAPendingJournal(t *testing.T) {
	c := journaledSends(t, 5)
	dir := c.folder(t, func(c crashCopy) []byte { return c.now }, c.journal)
	res, err := Compact(dir, CompactOptions{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Messages != 5 || res.Stats.Unread != 5 {
		t.Errorf("Compact counted %+v, want the 5 journaled sends, unread", res.Stats)
	}
	if journalPending(dir) {
		t.Fatal("the journal is still pending after the compact")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, sent(5)) {
		t.Fatalf("bob's unread after the compact: %v, want the journaled sends %v", got, sent(5))
	}
}

const compactChild = "IPCMESH_STORE_COMPACT_DIR"

// A compact whose copy finds no room on the disk (here a file size limit,
// which fails a write past it as a full disk does) says so, naming the
// folder to free space in, and leaves the store as it was and no copy.
func TestCompactWithoutRoom(t *testing.T) {
	if dir := os.Getenv(compactChild); dir != "" {
		// The child: only the copy is written, and it finds no room.
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 256 << 10, Max: lim.Max}); err != nil {
			t.Fatal(err)
		}
		_, err := Compact(dir, CompactOptions{LockTimeout: time.Second})
		if err == nil || !strings.Contains(err.Error(), "no room for the copy") || !strings.Contains(err.Error(), "free space in "+dir) {
			t.Fatalf("compact without room: %v, want it to say there is no room and where", err)
		}
		return
	}
	s, _ := openTest(t, nil)
	register(t, s, "bob")
	fillBob(t, s)
	before, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	dir := s.Dir()
	path := filepath.Join(dir, dbFile)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	folder := names(t, dir)

	startChild(t, "TestCompactWithoutRoom", compactChild, dir).finish(t)

	if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, data) {
		t.Errorf("a compact without room changed the database file (%v)", err)
	}
	if got := names(t, dir); !slices.Equal(got, folder) {
		t.Errorf("a compact without room left %v in the data folder, which held %v", got, folder)
	}
	r, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if after, err := r.Stats(); err != nil || after != before {
		t.Errorf("the store after a compact without room: %+v, %v; want %+v", after, err, before)
	}
}

const restoreChild = "IPCMESH_STORE_RESTORE_DIR"

// A restore that finds no room on the disk for the copy of the store as
// it was (here a file size limit, which fails a write past it as a full
// disk does) says so, naming the folder to free space in, and leaves the
// store as it was. Before, it said only "keep the store as it was in
// ...: write ...partial: file too large".
func TestRestoreWithoutRoom(t *testing.T) {
	if dir := os.Getenv(restoreChild); dir != "" {
		backup := filepath.Join(dir, "..", "backup.db")
		var lim syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: 256 << 10, Max: lim.Max}); err != nil {
			t.Fatal(err)
		}
		_, err := Restore(dir, backup, time.Second)
		for _, want := range []string{"no room", "free space in " + dir, "then restore again", "the store is left as it was"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("restore without room: %v, want it to say %q", err, want)
			}
		}
		return
	}
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	if _, err := s.Backup(filepath.Join(parent, "backup.db")); err != nil {
		t.Fatal(err)
	}
	fillBob(t, s)
	before, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	startChild(t, "TestRestoreWithoutRoom", restoreChild, dir).finish(t)

	r, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if after, err := r.Stats(); err != nil || after != before {
		t.Errorf("the store after a restore without room: %+v, %v; want %+v", after, err, before)
	}
	if left, _ := os.ReadDir(filepath.Join(dir, "backups")); len(left) != 0 {
		t.Errorf("a restore without room left %v in backups/", left)
	}
}

// fillBob stores 800 messages of 2,000 bytes for bob, in 4 commits: a
// store of some megabytes, whose compact or restore needs room.
func fillBob(t *testing.T, s *Store) {
	t.Helper()
	body := strings.Repeat("x", 2000)
	for i := range 4 {
		drafts := make([]Draft, 200)
		for j := range drafts {
			drafts[j] = Draft{ID: fmt.Sprintf("m%d-%d", i, j), From: "alice", To: "bob", Content: body}
		}
		if _, err := s.Append(context.Background(), drafts); err != nil {
			t.Fatal(err)
		}
	}
}
