package store

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
	type opened struct {
		s   *Store
		err error
	}
	next := make(chan opened, 1)
	go func() {
		s, err := Open(Options{Dir: dir, LockTimeout: time.Minute})
		next <- opened{s, err}
	}()
	// The journal is read before the database file is opened to be
	// locked: once the next Open holds the file too, it waits for the lock.
	for deadline := time.Now().Add(time.Minute); openedFiles(t, db) <= held; {
		if time.Now().After(deadline) {
			t.Fatal("the next Open never opened the database file")
		}
		time.Sleep(time.Millisecond)
	}
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
	other, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := syscall.Flock(int(other.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	held := openedFiles(t, db)
	type opened struct {
		s   *Store
		err error
	}
	next := make(chan opened, 1)
	go func() {
		s, err := Open(Options{Dir: dir, LockTimeout: time.Minute})
		next <- opened{s, err}
	}()
	for deadline := time.Now().Add(time.Minute); openedFiles(t, db) <= held; {
		if time.Now().After(deadline) {
			t.Fatal("the next Open never opened the database file")
		}
		time.Sleep(time.Millisecond)
	}
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
