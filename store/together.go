package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Together runs fn, and makes the writes fn makes with the context it is
// given one transaction, committed once fn returns nil. A store that is
// the view of a log (natsstore) applies a run of the log's events so:
// each event on a commit of its own spent most of its time in bbolt's
// work on its pages, which one commit for the run pays once.
//
// Each write in fn is answered as soon as its writes are in the
// transaction, before they are committed: the caller must not tell anyone
// of its outcome before Together has returned nil. A write reads what the
// writes before it in fn wrote. fn makes its writes one after another;
// the store's other writes wait meanwhile, and its reads see the store as
// it was before Together, until the commit.
//
// If fn returns an error, a write in it fails (a fault, not a refusal),
// or the commit does, nothing of fn's writes is committed, and Together
// returns the error: the writes after a failed one fail at once. The
// caller makes them again if it wants them, each on its own commit. What
// a write does beyond the database once its writes are committed (a
// shared value's replaced file removed) waits for the commit, and is
// dropped with the writes.
//
// Only a store opened with NoSync has Together: its writes can be made
// again from where they came from, and bbolt's commit without a sync
// leaves them either committed or not. Sweep and SweepWithin are refused
// in fn, since they read the store outside their transaction and remove
// files once it is committed: sweep before or after.
func (s *Store) Together(ctx context.Context, fn func(ctx context.Context) error) error {
	if !s.opts.NoSync {
		return errors.New("write together: the store was not opened with NoSync; make the writes one at a time")
	}
	h := &hold{
		c:       s.c,
		ops:     make(chan *request),
		end:     make(chan bool),
		started: make(chan error, 1),
		result:  make(chan error, 1),
		over:    make(chan struct{}),
	}
	if err := s.c.begin(ctx, h); err != nil {
		return fmt.Errorf("write together: %w", err)
	}
	ended := false
	defer func() {
		if !ended {
			// fn panicked: the committer is let go, and the writes with it.
			h.end <- false
			<-h.result
		}
	}()
	err := fn(context.WithValue(ctx, holdKey{}, h))
	ended = true
	h.end <- err == nil
	cerr := <-h.result
	if err != nil {
		return err
	}
	if cerr != nil {
		return wrapFault("write together", cerr)
	}
	h.mu.Lock()
	after := h.after
	h.mu.Unlock()
	for _, f := range after {
		f()
	}
	s.idx.wake()
	return nil
}

// A hold is the transaction of a Together, served by the committer until
// its caller ends it.
type hold struct {
	c       *committer
	ops     chan *request // fn's writes, in turn
	end     chan bool     // fn is done: commit (true) or roll back
	started chan error    // the transaction began, or why it did not
	result  chan error    // the commit's outcome
	over    chan struct{} // closed once the committer no longer serves the hold

	mu    sync.Mutex
	after []func() // what the writes do once committed (afterCommit)
}

type holdKey struct{}

// heldBy returns the hold of c that ctx carries, if any.
func heldBy(ctx context.Context, c *committer) *hold {
	h, _ := ctx.Value(holdKey{}).(*hold)
	if h == nil || h.c != c {
		return nil
	}
	return h
}

// errHoldOver is the error of a write made with the context of a
// Together that has returned.
var errHoldOver = errors.New("the writes made together are over: write with a context of your own")

// write runs fn in the hold's transaction and returns once it has: the
// committer runs it, as it runs every write.
func (h *hold) write(ctx context.Context, fn writeFn, early func()) error {
	h.c.mu.RLock()
	closed := h.c.closed
	h.c.mu.RUnlock()
	if closed {
		return ErrClosed
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1), early: early}
	select {
	case h.ops <- r:
	case <-h.over:
		return errHoldOver
	}
	return <-r.done
}

// afterCommit runs f once the writes made with ctx are committed: now,
// unless ctx is of a Together, whose commit is still to come.
func (s *Store) afterCommit(ctx context.Context, f func()) {
	h := heldBy(ctx, s.c)
	if h == nil {
		f()
		return
	}
	h.mu.Lock()
	h.after = append(h.after, f)
	h.mu.Unlock()
}

// begin hands h to the committer, which serves it between two batches,
// and returns once its transaction has begun.
func (c *committer) begin(ctx context.Context, h *hold) error {
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.holds <- h:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	return <-h.started
}

// serve runs the writes of h in one transaction until its caller ends
// it, then commits it or rolls it back. The committer's other work waits
// meanwhile: a write from elsewhere would either see the hold's writes
// before they are committed, or be committed with them.
func (c *committer) serve(h *hold) {
	defer close(h.over)
	if c.d.isBroken.Load() {
		if err := c.mend(); err != nil {
			h.started <- err
			return
		}
	}
	if err := c.release(); err != nil {
		h.started <- err
		return
	}
	tx, err := c.db.Begin(true)
	if err != nil {
		h.started <- err
		return
	}
	// After a failure; once committed it does nothing.
	defer tx.Rollback()
	h.started <- nil
	var failed error
	for {
		select {
		case r := <-h.ops:
			switch {
			case failed != nil:
				r.done <- fmt.Errorf("an earlier write of the batch failed: %w", failed)
			case r.ctx.Err() != nil:
				r.done <- r.ctx.Err()
			default:
				if err := r.fn(tx); err != nil {
					// Its writes may be half made: none of the
					// transaction can be committed.
					failed = err
					r.done <- c.room.check(err)
					continue
				}
				r.announce(true)
				r.done <- nil
			}
		case commit := <-h.end:
			switch {
			case failed != nil:
				h.result <- fmt.Errorf("a write of the batch failed, and none of it was committed: %w", failed)
			case !commit:
				h.result <- nil
			default:
				c.d.seq++
				c.db.NoSync = c.d.noSync
				h.result <- c.room.check(c.commitOf(tx))
			}
			return
		}
	}
}
