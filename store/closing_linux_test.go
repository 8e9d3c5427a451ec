package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An Open that waits for a broker still closing the store (a peer elected
// while the broker before lets go of it) reads the send journal only once
// it holds the lock. Read before, while the closing broker still wrote,
// the journal's checkpoint was older than the file the closing broker
// left, and put back it undid the sends acked after it.
func TestOpenWaitingForAClosingStoreKeepsItsLastSends(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, a, "bob")
	for i := range 50 {
		send(t, a, fmt.Sprintf("before-%02d", i), "alice", "bob", "sent before the next broker looked")
	}

	db := filepath.Join(dir, dbFile)
	held := openedFiles(t, db)
	next := openAsync(dir)
	// Once the next Open has the database file open, it waits for its lock.
	awaitOpened(t, db, held)
	for i := range 50 {
		send(t, a, fmt.Sprintf("after-%02d", i), "alice", "bob", "acked while the next broker waited")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b := <-next
	if b.err != nil {
		t.Fatalf("Open after the store before closed: %v", b.err)
	}
	defer b.s.Close()
	if n, err := b.s.UnreadCount("bob"); err != nil || n != 100 {
		t.Fatalf("bob has %d unread (%v) after the next Open; want all 100 acked sends", n, err)
	}
}

// An Open that waits for another broker reads the send journal once it
// holds the lock, not before: a broker that took the store meanwhile,
// acked sends and went down with the machine leaves them in its journal
// only. Read before the lock, the journal had nothing to recover, and the
// sends were lost.
func TestOpenWaitingForABrokerThatWentDownReplaysItsJournal(t *testing.T) {
	const n = 50
	c := journaledSends(t, n)
	dir := t.TempDir()
	db := filepath.Join(dir, dbFile)
	if err := os.WriteFile(db, c.checkpoint, 0o600); err != nil {
		t.Fatal(err)
	}
	// The other broker holds the database file; its journal has nothing
	// in it yet.
	other := lockFile(t, db)
	held := openedFiles(t, db)
	next := openAsync(dir)
	awaitOpened(t, db, held)
	// It acks n sends, then the power goes: the database file is as at
	// its checkpoint, the journal holds the sends. The lock goes with it.
	if err := os.WriteFile(filepath.Join(dir, journalFile), c.journal, 0o600); err != nil {
		t.Fatal(err)
	}
	other.Close()
	b := <-next
	if b.err != nil {
		t.Fatalf("Open after the broker before went down: %v", b.err)
	}
	defer b.s.Close()
	if got, want := unreadIDs(t, b.s, "bob"), sent(n); !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after the next Open: %d messages %v, want the %d acked sends", len(got), got, n)
	}
}

// A restore that waited for a broker which took the data folder, acked
// sends and went down, leaving them in its journal, stops and says a
// broker uses the folder. Going on, it replaced the store, and its own
// last Open put the journal's checkpoint back over the restored file.
func TestRestoreStopsForABrokerThatTookTheFolder(t *testing.T) {
	c := journaledSends(t, 5)
	dir := t.TempDir()
	db := filepath.Join(dir, dbFile)
	if err := os.WriteFile(db, c.now, 0o600); err != nil {
		t.Fatal(err)
	}
	other, _ := openTest(t, nil)
	register(t, other, "carol")
	backup := filepath.Join(t.TempDir(), "backup.db")
	if _, err := other.Backup(backup); err != nil {
		t.Fatal(err)
	}

	broker := lockFile(t, db)
	held := openedFiles(t, db)
	restored := make(chan error, 1)
	go func() {
		_, err := Restore(dir, backup, time.Minute)
		restored <- err
	}()
	awaitOpened(t, db, held)
	if err := os.WriteFile(filepath.Join(dir, journalFile), c.journal, 0o600); err != nil {
		t.Fatal(err)
	}
	broker.Close()
	if err := <-restored; !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop every ipcmesh process") {
		t.Fatalf("restore into a folder a broker took meanwhile: %v, want ErrLocked saying what to do", err)
	}
	s := reopen(t, dir)
	if got, want := unreadIDs(t, s, "bob"), sent(5); !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after the refused restore: %v, want the broker's acked sends %v", got, want)
	}
}

// opened is the outcome of an Open.
type opened struct {
	s   *Store
	err error
}

// openAsync opens the store of dir, waiting up to a minute for its lock,
// and hands the outcome over once it is in.
func openAsync(dir string) <-chan opened {
	next := make(chan opened, 1)
	go func() {
		s, err := Open(Options{Dir: dir, LockTimeout: time.Minute})
		next <- opened{s, err}
	}()
	return next
}

// lockFile takes the lock a broker holds on the database file path, as
// another process would: until the file it returns is closed.
func lockFile(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	return f
}

// awaitOpened waits until this process holds more descriptors of the file
// path than held: a store waiting for the file's lock has it open.
func awaitOpened(t *testing.T, path string, held int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); openedFiles(t, path) <= held; {
		if time.Now().After(deadline) {
			t.Fatalf("%s was never opened", path)
		}
		time.Sleep(time.Millisecond)
	}
}

// openedFiles counts this process's open descriptors of the file path.
func openedFiles(t *testing.T, path string) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot list open files: %v", err)
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real // as the links in /proc name it
	}
	n := 0
	for _, fd := range fds {
		if to, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && to == path {
			n++
		}
	}
	return n
}
