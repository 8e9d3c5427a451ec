package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// holdCommitter parks the committer inside a transaction until release is
// called, so that the test can queue requests behind it.
func holdCommitter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	return holdWith(t, func(fn writeFn) error { return s.c.submit(context.Background(), fn) })
}

// holdJournaled is holdCommitter with a journaled write, which leaves the
// journal as the sends before it did.
func holdJournaled(t *testing.T, s *Store) (release func()) {
	t.Helper()
	return holdWith(t, func(fn writeFn) error {
		return s.c.submitJournaled(context.Background(), fn, nil, &journalEntry{})
	})
}

// holdWith parks the committer in a write that submit submits.
func holdWith(t *testing.T, submit func(writeFn) error) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- submit(func(*bolt.Tx) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("holding request: %v", err)
		}
	}
}

func waitQueued(tb testing.TB, c *committer, n int) {
	tb.Helper()
	testbin.Eventually(tb, 10*time.Second, fmt.Sprintf("%d writes queued for the committer", n), func() bool { return len(c.queue) >= n })
}

func TestCommitterBatchesWhatIsQueued(t *testing.T) {
	s, _ := openTest(t, nil)
	release := holdCommitter(t, s)

	const n = 6
	txIDs := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := s.c.submit(context.Background(), func(tx *bolt.Tx) error {
				txIDs[i] = tx.ID()
				return nil
			})
			if err != nil {
				t.Errorf("submit %d: %v", i, err)
			}
		})
	}
	waitQueued(t, s.c, n)
	release()
	wg.Wait()
	for i, id := range txIDs {
		if id != txIDs[0] {
			t.Fatalf("request %d committed in tx %d, request 0 in tx %d: want one commit for all", i, id, txIDs[0])
		}
	}
}

func TestCommitterIsolatesAFailingRequest(t *testing.T) {
	s, _ := openTest(t, nil)
	release := holdCommitter(t, s)

	const n, bad = 5, 2
	errBad := errors.New("bad request")
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = s.c.submit(context.Background(), func(tx *bolt.Tx) error {
				if err := tx.Bucket([]byte(bucketMeta)).Put(fmt.Appendf(nil, "k%d", i), []byte("v")); err != nil {
					return err
				}
				if i == bad {
					return errBad
				}
				return nil
			})
		})
	}
	waitQueued(t, s.c, n)
	release()
	wg.Wait()

	err := s.db.View(func(tx *bolt.Tx) error {
		for i := range n {
			got := tx.Bucket([]byte(bucketMeta)).Get(fmt.Appendf(nil, "k%d", i))
			switch {
			case i == bad && !errors.Is(errs[i], errBad):
				t.Errorf("failing request got %v, want its own error", errs[i])
			case i == bad && got != nil:
				t.Errorf("failing request's write was committed")
			case i != bad && errs[i] != nil:
				t.Errorf("request %d failed with %v because another request failed", i, errs[i])
			case i != bad && got == nil:
				t.Errorf("request %d's write is missing", i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestCommitterSkipsCanceledRequest(t *testing.T) {
	s, _ := openTest(t, nil)
	release := holdCommitter(t, s)

	ctx, cancel := context.WithCancel(context.Background())
	ran := false
	done := make(chan error, 1)
	go func() {
		done <- s.c.submit(ctx, func(*bolt.Tx) error { ran = true; return nil })
	}()
	waitQueued(t, s.c, 1)
	cancel()
	release()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled request: %v, want context.Canceled", err)
	}
	if ran {
		t.Fatal("canceled request ran")
	}
}

func TestConcurrentAppendsAllLandOnce(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "bob")
	const writers, each = 8, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				ds, err := s.Append(context.Background(), []Draft{{ID: id, From: fmt.Sprintf("w%d", w), To: "bob", Content: id}})
				if err != nil || ds[0].Err != nil {
					t.Errorf("Append %s: %v %v", id, err, ds[0].Err)
					return
				}
			}
		})
	}
	wg.Wait()

	msgs, err := s.Unread("bob", writers*each+1)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != writers*each {
		t.Fatalf("%d unread, want %d", len(msgs), writers*each)
	}
	seen := map[string]bool{}
	next := map[string]int{}
	for i, m := range msgs {
		if seen[m.ID] {
			t.Fatalf("%s stored twice", m.ID)
		}
		seen[m.ID] = true
		if i > 0 && m.Seq <= msgs[i-1].Seq {
			t.Fatalf("inbox out of seq order at %d", i)
		}
		// Each writer's messages keep the order it sent them in.
		if want := fmt.Sprintf("%s-%d", m.From, next[m.From]); m.ID != want {
			t.Fatalf("got %s, want %s next from %s", m.ID, want, m.From)
		}
		next[m.From]++
	}
	if st, _ := s.Stats(); st.Messages != writers*each || st.Unread != writers*each {
		t.Errorf("Stats = %+v", st)
	}
}

// In a batch, the committer hands early work to the submitters and goes on
// writing: a slow early callback holds up no other write.
func TestSubmitEarlyRunsOutsideTheCommitterInABatch(t *testing.T) {
	s, _ := openTest(t, nil)
	release := holdCommitter(t, s)
	inEarly, leave := make(chan struct{}), make(chan struct{})
	early := make(chan error, 1)
	go func() {
		early <- s.c.submitEarly(context.Background(), func(tx *bolt.Tx) error {
			return tx.Bucket([]byte(bucketMeta)).Put([]byte("early-test"), []byte("x"))
		}, func() {
			close(inEarly)
			<-leave
		})
	}()
	waitQueued(t, s.c, 1)
	other := make(chan error, 1)
	go func() { other <- s.c.submit(context.Background(), func(*bolt.Tx) error { return nil }) }()
	waitQueued(t, s.c, 2)
	release() // both go in one batch
	<-inEarly
	// With early still running, the batch has committed and the committer
	// is free for the next write.
	if err := <-other; err != nil {
		t.Fatalf("the other write of the batch: %v", err)
	}
	if err := s.c.submit(context.Background(), func(*bolt.Tx) error { return nil }); err != nil {
		t.Fatalf("a write while early runs: %v", err)
	}
	close(leave)
	if err := <-early; err != nil {
		t.Fatalf("submitEarly: %v", err)
	}
}

func TestSubmitEarlyAlone(t *testing.T) {
	s, _ := openTest(t, nil)
	ran := false
	err := s.c.submitEarly(context.Background(), func(*bolt.Tx) error { return nil }, func() { ran = true })
	if err != nil || !ran {
		t.Fatalf("submitEarly = %v, early ran: %v", err, ran)
	}
	// A request whose fn fails announces nothing.
	errBad := errors.New("bad request")
	err = s.c.submitEarly(context.Background(), func(*bolt.Tx) error { return errBad }, func() {
		t.Error("early ran for a request whose writes failed")
	})
	if !errors.Is(err, errBad) {
		t.Fatalf("submitEarly = %v, want %v", err, errBad)
	}
}

// A commit that fails once its writes went to bbolt may have reached the
// disk all the same (a failed sync of the meta page leaves it written or
// not): the large body a send wrote stays, and its sender is told the send
// may be stored.
func TestFailedCommitKeepsTheBodiesItNamed(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	s.idx.close() // its commits would take the failure
	register(t, s, "bob")
	failFirstCommit(s, "the disk failed to sync")
	body := strings.Repeat("large body ", 10)
	_, err := s.Append(context.Background(), []Draft{{ID: "big", From: "alice", To: "bob", Content: body}})
	if err == nil || !strings.Contains(err.Error(), "may be on disk") {
		t.Fatalf("a send whose commit failed: %v; want an error that says it may be stored", err)
	}
	// unavailable tells a client to send again with the same id, which
	// is what such a write needs; internal told it nothing to do.
	if code := ipcmesh.CodeOf(err); code != ipcmesh.CodeUnavailable {
		t.Fatalf("a send whose commit failed answers %q, want %q", code, ipcmesh.CodeUnavailable)
	}
	if files := spillFiles(t, s); len(files) != 1 {
		t.Fatalf("large-messages/ holds %v, want the body the failed commit named", files)
	}
	d := send(t, s, "big", "alice", "bob", body)
	if _, got, err := s.Get("bob", "big"); err != nil || got != body || d.Duplicate {
		t.Fatalf("the retry: duplicate %v, fetch %d bytes, %v; want it stored with its body", d.Duplicate, len(got), err)
	}
}

// failFirstCommit makes the next commit of s's committer fail with why,
// its writes rolled back, and the ones after it succeed. failed reports
// whether that commit came, once the committer has been waited for.
func failFirstCommit(s *Store, why string) (failed func() bool) {
	done := false // the committer's goroutine alone calls commitTx
	s.c.commitTx = func(tx *bolt.Tx) error {
		if !done {
			done = true
			tx.Rollback()
			return errors.New(why)
		}
		return tx.Commit()
	}
	return func() bool { return done }
}
