package store

import (
	"context"
	"errors"
	"sync"

	bolt "go.etcd.io/bbolt"
)

// errClosed is what a write gets once Close has begun.
var errClosed = errors.New("store is closed")

// queueDepth bounds how many writes wait for the committer; beyond it
// writers block, which is the back-pressure a flooded broker needs.
const queueDepth = 4096

// A writeFn changes the database inside a write transaction. It may be run
// more than once (see committer.commit), so it must reset anything it
// reports to its caller each time it starts, and it returns an error only
// for faults that should roll back its writes: refusals a caller must see
// are reported through its closure, after writing nothing.
type writeFn func(tx *bolt.Tx) error

type request struct {
	ctx  context.Context
	fn   writeFn
	done chan error
	// written, if set, runs once fn's writes are in the transaction and
	// before the commit makes them durable.
	written func()
}

// committer is the single writer of the database. bbolt allows one write
// transaction at a time and each costs an fsync, so instead of letting
// writers queue on bbolt's lock one fsync after another, one goroutine takes
// every request waiting at that moment and commits them together.
type committer struct {
	db      *bolt.DB
	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	queue   chan *request
	stopped chan struct{}
}

func newCommitter(db *bolt.DB) *committer {
	c := &committer{
		db:      db,
		queue:   make(chan *request, queueDepth),
		stopped: make(chan struct{}),
	}
	go c.run()
	return c
}

// submit runs fn in a committed write transaction and returns once it is on
// disk. If ctx ends before fn runs, fn is skipped and ctx's error returned:
// once queued a request is always answered, so a caller never has to guess
// whether its write happened.
func (c *committer) submit(ctx context.Context, fn writeFn) error {
	return c.submitEarly(ctx, fn, nil)
}

// submitEarly is submit with a written callback: it runs after fn, inside
// the transaction, before the fsync that submit waits for. If the commit
// then fails, written has announced writes that never happened; callers
// use it only for hints that a later read corrects.
func (c *committer) submitEarly(ctx context.Context, fn writeFn, written func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1), written: written}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errClosed
	}
	select {
	case c.queue <- r:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	return <-r.done
}

func (c *committer) run() {
	defer close(c.stopped)
	for r := range c.queue {
		batch := []*request{r}
		// No waiting for company: whatever queued during the last commit's
		// fsync goes in now, and a lone writer is committed at once.
	drain:
		for {
			select {
			case r, ok := <-c.queue:
				if !ok {
					break drain
				}
				batch = append(batch, r)
			default:
				break drain
			}
		}
		c.commit(batch)
	}
}

// commit runs the batch in one transaction. If any fn fails, or the commit
// itself does, nothing of the batch reached the disk; then each fn runs again
// alone, as bbolt's Batch does, so the failure stays with its own request.
func (c *committer) commit(batch []*request) {
	errs := make([]error, len(batch))
	err := c.db.Update(func(tx *bolt.Tx) error {
		for i, r := range batch {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if err := r.fn(tx); err != nil {
				return err
			}
		}
		for i, r := range batch {
			if errs[i] == nil && r.written != nil {
				r.written()
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for i, r := range batch {
			if err != nil {
				errs[i] = err
			}
			r.done <- errs[i]
		}
		return
	}
	for _, r := range batch {
		r.done <- c.db.Update(func(tx *bolt.Tx) error {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				return err
			}
			if r.written != nil {
				r.written()
			}
			return nil
		})
	}
}

// close lets the queued requests commit, then stops the committer.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.queue)
	}
	c.mu.Unlock()
	<-c.stopped
}
