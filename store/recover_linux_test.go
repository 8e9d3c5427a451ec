package store

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

const fullDiskChild = "IPCMESH_STORE_FULL_DIR"

// A broker killed with acked sends in the journal, started again where
// the database file cannot grow (a full disk; here a file size limit), is
// told that the journal keeps those sends until they can be stored, and
// they are all there once it can. Before, Open's error said it failed to
// "create buckets", which reads as a broken store to put a backup over,
// not as a disk to free.
func TestFullDiskAtReplayKeepsTheJournal(t *testing.T) {
	if dir := os.Getenv(fullDiskChild); dir != "" {
		openWithoutRoom(dir)
		return
	}
	dir := t.TempDir()
	c := startChild(t, "TestKilledDuringSendsKeepsAckedOnes", crashChild, dir)
	acked := c.acked(20)
	c.kill(t)
	if len(acked) < 20 || !journalPending(dir) {
		t.Fatalf("the killed child acked %d sends and left a journal to replay: %v", len(acked), journalPending(dir))
	}

	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFullDiskAtReplayKeepsTheJournal$", "-test.count=1")
	child.Env = append(os.Environ(), fullDiskChild+"="+dir)
	said, _ := child.CombinedOutput()
	msg, ok := strings.CutPrefix(strings.SplitN(string(said), "\n", 2)[0], "open: ")
	if !ok {
		t.Fatalf("Open without room for the journal's sends: %s", said)
	}
	for _, want := range []string{filepath.Join(dir, journalFile), "keeps them", "full disk"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Open's error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "create buckets") {
		t.Errorf("Open's error %q blames the buckets", msg)
	}

	s := reopen(t, dir)
	for _, id := range acked {
		if _, ok, err := s.Lookup(id); err != nil || !ok {
			t.Fatalf("acked send %s is missing once the disk has room (found: %v, err: %v)", id, ok, err)
		}
	}
}

// openWithoutRoom is the second child of TestFullDiskAtReplayKeepsTheJournal:
// it opens the store in dir with no file allowed past its meta pages, and
// prints Open's error.
func openWithoutRoom(dir string) {
	lim := uint64(2 * os.Getpagesize())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	s.Close()
	fmt.Println("opened")
}

// A database file taken out of a data folder whose send journal was still
// to replay (after a crash, by someone starting afresh) is no damaged
// store: Open says what is missing and makes no file, and restore puts a
// backup in its place, keeping the journal aside rather than replaying it.
// Before, Open made a database of two pages from the journal's meta page
// and refused it as damaged, then and on every later Open.
func TestJournalWithoutItsDatabase(t *testing.T) {
	c := journaledSends(t, 5)
	dir := c.folder(t, func(c crashCopy) []byte { return c.now }, c.journal)
	live := filepath.Join(dir, dbFile)
	if err := os.Remove(live); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err == nil {
		s.Close()
		t.Fatal("Open of a folder whose journal has lost its database succeeded")
	}
	if errors.Is(err, ErrDamaged) {
		t.Errorf("Open calls a missing database damaged: %v", err)
	}
	for _, want := range []string{live, filepath.Join(dir, journalFile), "missing", "move the journal"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open's error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(live); !os.IsNotExist(err) {
		t.Errorf("Open made a database file from the journal: %v", err)
	}

	other, _ := openTest(t, nil)
	register(t, other, "carol")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := other.Backup(backup); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(dir, backup, time.Second); err != nil {
		t.Fatalf("restore into the folder: %v", err)
	}
	if journalPending(dir) {
		t.Error("the journal is still pending after the restore")
	}
	kept, _ := filepath.Glob(filepath.Join(dir, "backups", "*.journal"))
	if len(kept) != 1 {
		t.Errorf("the journal was not kept in backups/: %v", kept)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, ok, _ := s.Session("carol"); !ok {
		t.Error("the restored store lacks carol")
	}
	if _, found, _ := s.Lookup("m00"); found {
		t.Error("the journal's sends were replayed onto the restored store")
	}
}
