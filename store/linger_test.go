//go:build linux

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// lingeringStore is a quiet store whose journaled sends stay in the open
// transaction until a read other than the inbox's, or another write,
// needs it committed.
func lingeringStore(t *testing.T) *Store {
	t.Helper()
	s := quietStore(t)
	s.c.idle = time.Hour
	register(t, s, "bob")
	return s
}

// A read that begins once a send is acked sees it, though the send waits
// in a transaction that is not committed yet.
func TestReadAfterAckSeesLingeringSend(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	acked := make(chan string)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(acked)
		for i := range 200 {
			id := fmt.Sprint("m", i)
			send(t, s, id, "alice", "bob", "hello")
			acked <- id
		}
	})
	for id := range acked {
		if _, _, err := s.Get("bob", id); err != nil {
			t.Fatalf("Get(%s) right after its ack: %v", id, err)
		}
	}
	wg.Wait()
}

// Acked sends still in the open transaction are in no file but the
// journal: a crash then finds the database without them, and the replay
// stores them all.
func TestCrashKeepsLingeringSends(t *testing.T) {
	s := lingeringStore(t)
	path := filepath.Join(s.Dir(), dbFile)
	checkpoint, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{"m1", "m2", "m3", "m4", "m5"}
	for _, id := range ids {
		send(t, s, id, "alice", "bob", "hello "+id)
	}
	now, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	journal, err := os.ReadFile(filepath.Join(s.Dir(), journalFile))
	if err != nil {
		t.Fatal(err)
	}
	c := crashCopy{checkpoint: checkpoint, now: now}
	// Without the journal, the file as it is holds none of them: they
	// were acked while only the journal had them.
	bare := reopen(t, c.folder(t, func(c crashCopy) []byte { return c.now }, nil))
	if got := unreadIDs(t, bare, "bob"); len(got) != 0 {
		t.Fatalf("the database file alone holds %v: the sends did not wait in the open transaction", got)
	}
	r := reopen(t, c.folder(t, func(c crashCopy) []byte { return c.now }, journal))
	if got := unreadIDs(t, r, "bob"); !slices.Equal(got, ids) {
		t.Fatalf("bob's inbox after the crash: %v, want %v", got, ids)
	}
}

// A check reads the inbox inside the open transaction: it sees the sends
// acked so far without committing them, and a read of anything else
// commits them first, as before.
func TestInboxReadLeavesTheTransactionOpen(t *testing.T) {
	s := lingeringStore(t)
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second")
	if got, want := unreadIDs(t, s, "bob"), []string{"m1", "m2"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox: %v, want %v", got, want)
	}
	if n, err := s.UnreadCount("bob"); err != nil || n != 2 {
		t.Fatalf("bob's unread count: %d, %v; want 2", n, err)
	}
	if _, body, err := s.Get("bob", "m2"); err != nil || body != "second" {
		t.Fatalf("Get(m2) = %q, %v", body, err)
	}
	committed := 0
	s.db.View(func(tx *bolt.Tx) error {
		if in := tablesOf(tx).inboxes().Bucket([]byte("bob")); in != nil {
			committed = in.Stats().KeyN
		}
		return nil
	})
	if committed != 0 {
		t.Fatalf("the reads committed the sends: bob's inbox in the database holds %d", committed)
	}
	if !s.c.lingering.Load() {
		t.Fatal("the transaction of sends was committed by the reads")
	}
	if th, err := s.Thread("m1", 0, 0); err != nil || len(th) != 1 {
		t.Fatalf("Thread(m1) = %d messages, %v; want 1", len(th), err)
	}
	if s.c.lingering.Load() {
		t.Fatal("a thread's read left the transaction of sends open")
	}
}

// A check that may pass over any number of entries, of a channel member
// (its channel logs) or of one sender's mail, commits the open transaction
// first and reads outside the writer.
func TestLongReadsRunAfterTheCommit(t *testing.T) {
	s := lingeringStore(t)
	register(t, s, "alice")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob"}})
	send(t, s, "m1", "alice", "bob", "direct")
	post(t, s, "p1", "alice", "dev", "to the channel")
	if !s.c.lingering.Load() {
		t.Fatal("the sends were committed before any read")
	}
	if got, want := unreadIDs(t, s, "bob"), []string{"m1", "p1"}; !slices.Equal(got, want) {
		t.Fatalf("bob's unread: %v, want %v", got, want)
	}
	if s.c.lingering.Load() {
		t.Fatal("a channel member's check ran in the open transaction")
	}
	send(t, s, "m2", "alice", "bob", "direct again")
	if n, err := s.UnreadCount("bob"); err != nil || n != 3 {
		t.Fatalf("bob's unread count: %d, %v; want 3", n, err)
	}
	if s.c.lingering.Load() {
		t.Fatal("a channel member's count ran in the open transaction")
	}
	// Mail filtered by sender may pass over any number of other senders'.
	send(t, s, "m3", "carol", "dave", "to dave")
	if ms, err := s.UnreadFrom("dave", "carol", 10); err != nil || len(ms) != 1 || ms[0].ID != "m3" {
		t.Fatalf("dave's mail from carol: %v, %v; want m3", ms, err)
	}
	if s.c.lingering.Load() {
		t.Fatal("a check of mail from one sender ran in the open transaction")
	}
}

// A lone send's early work (the broker's push) is done before it is
// acked, though its record's sync is left to the syncer: the recipient
// hears of a message no later than its sender does. Under the race
// detector a push left running past the ack is a race on pushed.
func TestLoneSendIsPushedBeforeItsAck(t *testing.T) {
	s := lingeringStore(t)
	send(t, s, "m0", "alice", "bob", "first") // the record synced at once
	for range 20 {
		pushed := false
		err := s.c.submitJournaled(context.Background(), func(*bolt.Tx) error { return nil },
			func() { pushed = true }, &journalEntry{})
		if err != nil {
			t.Fatal(err)
		}
		if !pushed {
			t.Fatal("a lone send was acked before its early work ran")
		}
	}
}

// A write that fails in the open transaction rolls it back: the acked
// sends before it are written again, and only the failed write is lost.
func TestFailedWriteKeepsLingeringSends(t *testing.T) {
	s := lingeringStore(t)
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second")
	err := s.c.submitJournaled(context.Background(), func(*bolt.Tx) error {
		return errors.New("no room")
	}, nil, &journalEntry{})
	if err == nil {
		t.Fatal("a failed write was acked")
	}
	if got, want := unreadIDs(t, s, "bob"), []string{"m1", "m2"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after a failed write: %v, want %v", got, want)
	}
	send(t, s, "m3", "alice", "bob", "after")
	if got, want := unreadIDs(t, s, "bob"), []string{"m1", "m2", "m3"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox: %v, want %v", got, want)
	}
}

// A commit of the open transaction that fails loses nothing acked: its
// sends are written again from their journal records.
func TestFailedCommitRedoesLingeringSends(t *testing.T) {
	s := lingeringStore(t)
	failed := failFirstCommit(s, "the disk is full")
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second")
	s.c.flush()
	if !failed() {
		t.Fatal("flush did not commit the open transaction")
	}
	if got, want := unreadIDs(t, s, "bob"), []string{"m1", "m2"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox after a failed commit: %v, want %v", got, want)
	}
	if n, err := s.UnreadCount("bob"); err != nil || n != 2 {
		t.Fatalf("bob's unread count: %d, %v; want 2", n, err)
	}
}

// If the acked sends can be written again neither, only the journal holds
// them: the store refuses reads and writes rather than show a state
// without them, keeps the journal when closed, and the next Open stores
// them.
func TestBrokenStoreKeepsTheJournal(t *testing.T) {
	// Not openTest's store: its Close is to fail.
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.idx.close()
	s.c.idle = time.Hour
	register(t, s, "bob")
	s.c.commitTx = func(tx *bolt.Tx) error {
		tx.Rollback()
		return errors.New("the disk is full")
	}
	s.c.redo = func(*bolt.Tx, [][]byte) (int, error) { return 0, errors.New("the disk is still full") }
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second")
	// A read of mail runs in the open transaction and commits nothing;
	// any other read commits it first, and so finds the store broken.
	if _, err := s.Unread("bob", 10); err != nil {
		t.Fatalf("Unread before the failing commit: %v", err)
	}
	s.c.flush()
	_, err = s.Unread("bob", 10)
	if err == nil || !strings.Contains(err.Error(), "kept in the send journal") {
		t.Fatalf("Unread on a broken store: %v; want an error that says the journal keeps the acked sends", err)
	}
	if _, err := s.Append(context.Background(), []Draft{{ID: "m3", From: "alice", To: "bob", Content: "x"}}); err == nil {
		t.Fatal("a broken store acked a send")
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close of a broken store reported nothing")
	}
	r := reopen(t, s.Dir())
	if got, want := unreadIDs(t, r, "bob"), []string{"m1", "m2"}; !slices.Equal(got, want) {
		t.Fatalf("bob's inbox once opened again: %v, want %v", got, want)
	}
}

// A batch of sends in which one fails, the other with early work (the
// broker's push), is retried one by one: the retry must not wait for
// early work the failed attempt never handed out.
func TestFailedBatchWithEarlyWorkIsAnswered(t *testing.T) {
	s := lingeringStore(t)
	send(t, s, "m0", "alice", "bob", "first")
	ctx := context.Background()
	release := holdJournaled(t, s)
	pushed := make(chan struct{}, 1)
	done := make(chan error, 2)
	go func() {
		done <- s.c.submitJournaled(ctx, func(*bolt.Tx) error { return nil },
			func() { pushed <- struct{}{} }, &journalEntry{})
	}()
	go func() {
		done <- s.c.submitJournaled(ctx, func(*bolt.Tx) error { return errors.New("no room") }, nil, &journalEntry{})
	}()
	waitQueued(t, s.c, 2)
	release()
	failed := 0
	for range 2 {
		select {
		case err := <-done:
			if err != nil {
				failed++
			}
		case <-time.After(time.Minute):
			t.Fatal("a request of the batch was never answered: the committer waits for early work that was never handed out")
		}
	}
	if failed != 1 {
		t.Fatalf("%d of the 2 requests failed, want the one whose write failed", failed)
	}
	select {
	case <-pushed:
	default:
		t.Error("the request that was stored had no early work done")
	}
}

// A batch that fails in the open transaction and breaks the store (the
// acked batches before it cannot be written again) is not retried
// request by request: a retry that was committed would take a checkpoint
// and clear the journal, the one place that holds those acked sends.
// Before, it did, and a store closed before it mended had lost them.
func TestBrokenStoreRetriesNothing(t *testing.T) {
	// Not openTest's store: its Close is to fail.
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	s.idx.close()
	s.c.idle = time.Hour
	register(t, s, "bob")
	send(t, s, "m1", "alice", "bob", "first")
	send(t, s, "m2", "alice", "bob", "second")
	s.c.redo = func(*bolt.Tx, [][]byte) (int, error) { return 0, errors.New("the disk is full") }

	// Park the committer in a send, so that the two below make one batch.
	ctx := context.Background()
	started, hold := make(chan struct{}), make(chan struct{})
	go s.c.submitJournaled(ctx, func(*bolt.Tx) error {
		close(started)
		<-hold
		return nil
	}, nil, &journalEntry{})
	<-started
	done := make(chan error, 2)
	go func() {
		_, err := s.Append(ctx, []Draft{{ID: "m3", From: "alice", To: "bob", Content: "third"}})
		done <- err
	}()
	waitQueued(t, s.c, 1)
	go func() {
		done <- s.c.submitJournaled(ctx, func(*bolt.Tx) error { return errors.New("no room") }, nil, &journalEntry{})
	}()
	waitQueued(t, s.c, 2)
	close(hold)
	for range 2 {
		if err := <-done; err == nil {
			t.Error("a request of the batch that broke the store was stored")
		}
	}
	if err := s.Close(); err == nil {
		t.Fatal("Close of a broken store reported nothing")
	}
	r := reopen(t, s.Dir())
	for _, id := range []string{"m1", "m2"} {
		if _, ok, err := r.Lookup(id); err != nil || !ok {
			t.Errorf("acked send %s is gone once the store is opened again (found: %v, err: %v)", id, ok, err)
		}
	}
}
