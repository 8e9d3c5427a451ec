package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ipcmesh/ipcmesh"
)

// ErrClosed is returned by a write submitted once Close has begun, and by a
// read begun once the database is closed: the store is going away with the
// broker that owns it, and the request is worth sending to the next one.
var ErrClosed = errors.New("store is closed")

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
	// unsure is set once fn's writes went to a commit that failed: they
	// may be on disk all the same (see unsettledError). Only the
	// committer's goroutine touches it.
	unsure bool
	// early, if set, is the submitter's work for once fn's writes are in
	// the transaction, before the commit makes them durable (see
	// submitEarly). A lone request's early work runs in the committer, at
	// once; in a batch, the committer signals wrote and the submitter runs
	// it and closes earlyDone.
	early     func()
	wrote     chan struct{}
	earlyDone chan struct{}
	// entry, if set, is fn's send as the journal records it: a batch of
	// such requests alone is acked after the journal's one sync.
	entry *journalEntry
}

// announce gets r's early work done: inline for a lone request, which has
// nobody to wait for it, else by signalling the submitter, so that a busy
// committer hands the work of many requests to their own goroutines. The
// signal never blocks: a second one, from a retry alone, finds the first
// taken or still pending and is dropped.
func (r *request) announce(alone bool) {
	switch {
	case r.early == nil:
	case alone:
		r.early()
	default:
		select {
		case r.wrote <- struct{}{}:
		default:
		}
	}
}

// answer sends r its outcome, marked as possibly stored if its writes
// went to a commit that failed, and said in the data folder's words if
// the file system found no room for them or refused them for want of
// permission (room.check).
func (r *request) answer(rm *room, err error) {
	if err != nil && r.unsure && !mayBeStored(err) {
		err = &unsettledError{err: err}
	}
	r.done <- rm.check(err)
}

// An unsettledError is the error of a request whose writes may be stored
// all the same. Either they were committed, and readers see them, but the
// send journal could not be cleared after the commit, so that a crash
// before a later commit clears it would undo them; or bbolt's commit
// failed once they went to it, and a failed sync of its meta page may
// leave them on disk or not, until a later commit takes their place. The
// caller must keep what its writes name, a spill file above all: a file
// left over costs disk until the orphan sweep, a file removed under its
// record loses the content.
type unsettledError struct {
	err       error
	committed bool // the commit happened; the journal was not cleared after it
}

func (e *unsettledError) Error() string {
	if e.committed {
		return fmt.Sprintf("the write is committed, but the send journal could not be cleared after it (%v), and a crash before a later commit clears it would undo the write: make the request again (a send with the same id is stored once, and answered once it is safe)", e.err)
	}
	return fmt.Sprintf("the commit failed after its writes went to the database file (%v), and they may be on disk all the same: make the request again (a send with the same id is stored once)", e.err)
}

func (e *unsettledError) Unwrap() error { return e.err }

// As lets the broker answer an unsettled write with unavailable: its
// advice, send again later with the same id, is what such a write needs,
// and a client that retries unavailable does the right thing. Answered as
// internal, it read as a fault to report, not a request to repeat.
func (e *unsettledError) As(target any) bool {
	t, ok := target.(**ipcmesh.Error)
	if ok {
		*t = &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, Message: e.Error()}
	}
	return ok
}

// mayBeStored reports whether err, a request's error, leaves its writes
// possibly stored: what they name must then be kept.
func mayBeStored(err error) bool {
	var u *unsettledError
	return errors.As(err, &u)
}

// committer is the single writer of the database. bbolt allows one write
// transaction at a time and each costs an fsync, so instead of letting
// writers queue on bbolt's lock one fsync after another, one goroutine takes
// every request waiting at that moment and commits them together.
type committer struct {
	db      *bolt.DB
	d       *durability
	room    *room        // the data folder, for the error of a full disk or a read-only one
	mu      sync.RWMutex // guards closed against sends on a closed queue
	closed  bool
	queue   chan *request
	stopped chan struct{}

	fmu sync.Mutex
	// flight is closed once the batch being committed has settled,
	// committed (a batch of sends may still wait for its journal record's
	// sync) or failed; nil between batches. See settle.
	flight chan struct{}

	// open is the write transaction that journaled batches were written
	// in and that is not committed yet (see linger); nil when there is
	// none. Only the committer's goroutine touches it.
	open *bolt.Tx
	// held are the journal records of the batches in open, in order:
	// what is written again if open cannot be committed.
	held [][]byte
	// lost are the records of held that could not be written again
	// either, once the store is broken: what mend writes.
	lost [][]byte
	// lingering is set while open is: a read flushes it first, or
	// runs in it (readOpen).
	lingering atomic.Bool
	flushes   chan chan struct{}
	reads     chan *openRead
	// holds are the Togethers waiting for the committer, which serves
	// each alone (serve).
	holds chan *hold
	// redo writes journal records again, as a replay does (Store.replay).
	redo func(*bolt.Tx, [][]byte) (int, error)
	// idle is lingerIdle, and commitTx bbolt's Commit, but in tests that
	// hold the transaction open or make its commit fail.
	idle     time.Duration
	commitTx func(*bolt.Tx) error
}

func newCommitter(db *bolt.DB, d *durability, redo func(*bolt.Tx, [][]byte) (int, error), rm *room) *committer {
	c := &committer{
		db:       db,
		d:        d,
		room:     rm,
		queue:    make(chan *request, queueDepth),
		stopped:  make(chan struct{}),
		flushes:  make(chan chan struct{}),
		reads:    make(chan *openRead),
		holds:    make(chan *hold),
		redo:     redo,
		idle:     lingerIdle,
		commitTx: (*bolt.Tx).Commit,
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

// submitEarly is submit with early work: once fn's writes are in the
// transaction, and before they are on disk, early runs.
// When the request is committed alone, the committer runs it at once (the
// quickest way for a lone message); in a batch, the caller's goroutine
// does, so that the one writer goes on writing. Reads that must see what
// early announced begin with settle. If the commit then fails, early has
// announced writes that never happened; callers use it only for hints that
// a later read corrects. early does not run when fn is skipped or fails.
func (c *committer) submitEarly(ctx context.Context, fn writeFn, early func()) error {
	return c.submitJournaled(ctx, fn, early, nil)
}

// submitJournaled is submitEarly for a send that the journal can record as
// entry; fn fills in entry's time.
func (c *committer) submitJournaled(ctx context.Context, fn writeFn, early func(), entry *journalEntry) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if h := heldBy(ctx, c); h != nil {
		return h.write(ctx, fn, early)
	}
	r := &request{ctx: ctx, fn: fn, done: make(chan error, 1), early: early, entry: entry}
	if early != nil {
		r.wrote, r.earlyDone = make(chan struct{}, 1), make(chan struct{})
	}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return ErrClosed
	}
	select {
	case c.queue <- r:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	if early == nil {
		return <-r.done
	}
	select {
	case <-r.wrote:
		early()
		close(r.earlyDone)
		return <-r.done
	case err := <-r.done:
		// The commit may have outrun this goroutine: the signal is then
		// still waiting, and early is owed all the same.
		select {
		case <-r.wrote:
			if err == nil {
				early()
			}
		default:
		}
		return err
	}
}

func (c *committer) run() {
	defer close(c.stopped)
	idle := time.NewTimer(lingerIdle)
	idle.Stop()
	for {
		r, h, ok := c.next(idle)
		if !ok {
			c.release()
			return
		}
		if h != nil {
			c.serve(h)
			continue
		}
		// No waiting for company: whatever queued during the last batch
		// goes in now, and a lone writer is written at once.
		batch := drain([]*request{r}, c.queue)
		c.fmu.Lock()
		c.flight = make(chan struct{})
		c.fmu.Unlock()
		c.commit(batch)
		if c.open != nil {
			idle.Reset(c.idle)
		}
		c.fmu.Lock()
		close(c.flight)
		c.flight = nil
		c.fmu.Unlock()
	}
}

// next waits for the next request, or Together, committing the open
// transaction when a read asks for it (flush) or lingerIdle passes without
// a request.
func (c *committer) next(idle *time.Timer) (*request, *hold, bool) {
	for {
		var expired <-chan time.Time
		if c.open != nil {
			expired = idle.C
		}
		select {
		case r, ok := <-c.queue:
			return r, nil, ok
		case h := <-c.holds:
			return nil, h, true
		case done := <-c.flushes:
			c.release()
			close(done)
		case rd := <-c.reads:
			if c.open != nil {
				rd.ran = true
				rd.err = rd.fn(c.open)
			}
			close(rd.done)
		case <-expired:
			c.release()
		}
	}
}

// drain appends to batch whatever waits in ch, without waiting for more.
func drain[T any](batch []T, ch <-chan T) []T {
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return batch
			}
			batch = append(batch, v)
		default:
			return batch
		}
	}
}

// settle waits until the batch being committed, if any, has settled. Early
// work announces writes before their commit; a read that starts with settle
// sees every write that was announced before it began (or learns, by its
// absence, that the commit failed). It waits at most one commit, never for
// writes queued after it.
func (c *committer) settle() {
	c.fmu.Lock()
	ch := c.flight
	c.fmu.Unlock()
	if ch != nil {
		<-ch
	}
}

// commit runs the batch in one transaction. If any fn fails, or the commit
// itself does, nothing of the batch reached the disk; then each fn runs again
// alone, as bbolt's Batch does, so the failure stays with its own request.
//
// A batch of sends alone is written without bbolt's syncs once the
// journal holds its record (see linger); any other commit is synced by
// bbolt and then becomes the journal's checkpoint. Either way a request is
// answered only once its write is on disk.
func (c *committer) commit(batch []*request) {
	if c.d.isBroken.Load() {
		if err := c.mend(); err != nil {
			for _, r := range batch {
				r.answer(c.room, err)
			}
			return
		}
	}
	if c.d.journaled(batch) {
		c.linger(batch)
		return
	}
	// This commit's sync covers the open transaction's writes too, once
	// they are committed.
	if err := c.release(); err != nil {
		for _, r := range batch {
			r.answer(c.room, err)
		}
		return
	}
	errs := make([]error, len(batch))
	signalled := false
	c.d.seq++
	c.db.NoSync = c.d.noSync
	wrote, err := c.update(func(tx *bolt.Tx) error {
		if err := c.apply(tx, batch, errs); err != nil {
			return err
		}
		signalled = len(batch) > 1
		return nil
	})
	switch {
	case err == nil:
		// Committed, but not acked until the journal stops naming the
		// checkpoint this commit replaces.
		if cerr := c.d.checkpoint(); cerr != nil {
			var u error = &unsettledError{err: cerr, committed: true}
			for i := range errs {
				errs[i] = cmp.Or(errs[i], u)
			}
		}
	case wrote:
		for i, r := range batch {
			r.unsure = r.unsure || errs[i] == nil
		}
	}
	c.finish(batch, errs, err, signalled)
}

// update runs fn in a write transaction and commits it with commitTx, as
// bbolt's Update does with Commit. wrote reports whether fn's writes went
// to the commit, which may then fail having written them (see
// unsettledError).
func (c *committer) update(fn func(*bolt.Tx) error) (wrote bool, err error) {
	tx, err := c.db.Begin(true)
	if err != nil {
		return false, err
	}
	// After a failure, or a panic in fn; once committed it does nothing.
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return false, err
	}
	return true, c.commitOf(tx)
}

// commitOf commits tx with commitTx; one that goes through found room.
func (c *committer) commitOf(tx *bolt.Tx) error {
	err := c.commitTx(tx)
	if err == nil {
		c.room.taken()
	}
	return err
}

// apply runs the batch's fns in tx, skipping (and marking in errs) the
// requests whose context has ended, then announces their early work.
func (c *committer) apply(tx *bolt.Tx, batch []*request, errs []error) error {
	for i, r := range batch {
		if errs[i] = r.ctx.Err(); errs[i] != nil {
			continue
		}
		if err := r.fn(tx); err != nil {
			return err
		}
	}
	for i, r := range batch {
		if errs[i] == nil {
			r.announce(len(batch) == 1)
		}
	}
	return nil
}

// finish answers a batch whose commit is done: committed if err is nil,
// errs holding each request's own outcome. A failed batch of more than
// one request is retried one request at a time, with bbolt's syncs, so
// that a failure stays with its own request; signalled says whether the
// failed attempt handed early work to the submitters.
func (c *committer) finish(batch []*request, errs []error, err error, signalled bool) {
	// A store that the failure broke writes nothing until it mends: a
	// retry committed alone would take a checkpoint, which clears the
	// journal, the one place that holds the acked batches it lost.
	if err == nil || len(batch) == 1 || c.d.isBroken.Load() {
		for i, r := range batch {
			if err != nil {
				errs[i] = err
			}
			r.answer(c.room, errs[i])
		}
		return
	}
	c.db.NoSync = c.d.noSync
	committed := false
	for i, r := range batch {
		if signalled && errs[i] == nil && r.earlyDone != nil {
			// The submitter may be reading what fn wrote for it: let it
			// finish before fn runs again.
			<-r.earlyDone
		}
		var wrote bool
		wrote, errs[i] = c.update(func(tx *bolt.Tx) error {
			if err := r.ctx.Err(); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				return err
			}
			r.announce(false)
			return nil
		})
		r.unsure = r.unsure || wrote && errs[i] != nil
		committed = committed || errs[i] == nil
	}
	// Only a commit bbolt synced may become the checkpoint: with none, the
	// newest commit may be a journaled one whose pages are not on disk
	// yet, and the journal is what keeps it.
	var cerr error
	if committed {
		if err := c.d.checkpoint(); err != nil {
			cerr = &unsettledError{err: err, committed: true}
		}
	}
	for i, r := range batch {
		r.answer(c.room, cmp.Or(errs[i], cerr))
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
