package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A transaction of journaled batches is left open for the batches that
// follow (see committer.linger) until lingerIdle passes without one, or it
// holds lingerBatches of them, or a read or another write needs it
// committed (an inbox's reads run inside it instead: readOpen).
const (
	lingerIdle    = 2 * time.Millisecond
	lingerBatches = 64
)

// linger writes a batch of sends in the open transaction, beginning one
// if there is none, and journals it: the batch is acked once its record
// is synced, and the transaction is left open for the batches that follow.
// A lone sender's sends so share bbolt's commit, the costliest part of a
// write after the sync, which most of them no longer wait for. The
// transaction is committed (without bbolt's syncs: the journal keeps its
// writes until a checkpoint) when a read or another write needs it, or
// after lingerIdle or lingerBatches; an inbox's reads run inside it
// (readOpen). If a batch fails in it, the batches
// before it are written again from their records (abandon), and the batch
// is retried as any failed one is.
func (c *committer) linger(batch []*request) {
	errs := make([]error, len(batch))
	c.d.seq++
	seq := c.d.seq
	if c.open == nil {
		tx, err := c.db.Begin(true)
		if err != nil {
			c.finish(batch, errs, err, false)
			return
		}
		c.open = tx
		c.lingering.Store(true)
	}
	err := c.apply(c.open, batch, errs)
	// A batch whose fns all ran has handed its early work to the
	// submitters, whom a retry must then wait for.
	signalled := err == nil && len(batch) > 1
	var payload []byte
	synced := false
	if err == nil {
		payload, synced, err = c.d.record(c.open, seq, batch, errs)
	}
	if err != nil {
		if aerr := c.abandon(); aerr != nil {
			err = aerr
		}
		c.finish(batch, errs, err, signalled)
		return
	}
	c.held = append(c.held, payload)
	if synced {
		// No syncer answers a record synced as it was written.
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
	if len(c.held) >= lingerBatches {
		c.release()
	}
}

// release commits the open transaction, if any, without bbolt's syncs.
// If that fails, its batches are written again from their records.
func (c *committer) release() error {
	if c.open == nil {
		return nil
	}
	c.db.NoSync = true
	err := c.commitOf(c.open)
	if err != nil {
		c.open = nil // bbolt rolled it back
		return c.abandon()
	}
	c.open, c.held = nil, nil
	c.lingering.Store(false)
	return nil
}

// abandon rolls back the open transaction and writes the batches it held
// again, from their journal records, in a transaction of their own: they
// were acked, or will be once their records are synced, so they must not
// be lost with a batch that failed after them. If even that fails, the
// store is broken: every write and read fails rather than show a state
// without them, until mend stores them (the disk has room again) or the
// store is opened again and replays the journal, which keeps them.
func (c *committer) abandon() error {
	if c.open != nil {
		c.open.Rollback()
		c.open = nil
	}
	held := c.held
	c.held = nil
	defer c.lingering.Store(false)
	if len(held) == 0 {
		return nil
	}
	c.db.NoSync = true
	err := c.db.Update(func(tx *bolt.Tx) error {
		_, err := c.redo(tx, held)
		return err
	})
	if err != nil {
		c.lost = held
		return c.d.breakDown(fmt.Errorf("write again the %d acked batches of a commit that failed: %w", len(held), err))
	}
	c.room.taken()
	return nil
}

// mend tries again to store the acked batches that broke the store, in a
// commit that bbolt syncs, and to clear the journal after it; once both
// are done the store is whole again. What broke it is most often a full
// disk, which a person frees without stopping the broker: the peers,
// which see a broker that answers, would never start another, so a
// store that waited for the next Open would refuse every request until
// someone found and stopped the broker. Nothing else is written
// meanwhile (commit answers every request with the broken error), so the
// batches are written again onto the state they were first written on.
func (c *committer) mend() error {
	if len(c.lost) > 0 {
		c.db.NoSync = c.d.noSync
		err := c.db.Update(func(tx *bolt.Tx) error {
			_, err := c.redo(tx, c.lost)
			return err
		})
		if err != nil {
			return c.d.brokenErr()
		}
		c.lost = nil
		c.room.taken()
	}
	// Until the journal is cleared it still names a checkpoint before
	// the commit just made; a journal that cannot be cleared is tried
	// again at the next request.
	if err := c.d.checkpoint(); err != nil {
		return c.d.brokenErr()
	}
	c.d.mend()
	return nil
}

// flush commits the open transaction, if any, and returns once it is
// committed: a read that begins after it sees every write that was acked
// before it was called. It must not be called on the committer's own
// goroutine.
func (c *committer) flush() {
	if !c.lingering.Load() {
		return
	}
	done := make(chan struct{})
	select {
	case c.flushes <- done:
		<-done
	case <-c.stopped:
	}
}

// An openRead is a read to run in the open transaction (readOpen).
type openRead struct {
	fn   func(*bolt.Tx) error
	done chan struct{}
	ran  bool
	err  error
}

// readOpen runs fn in the open transaction, on the committer's goroutine,
// and returns fn's error and true; with no open transaction it runs
// nothing and returns false. The open transaction holds every batch
// acked, or announced early, so far: a read there sees what a read after
// flush would, without the commit that flush waits for, which otherwise
// lies on the path of every message read while a sender is busy. The
// price is that such reads take turns with the writes, so only short
// reads of a recipient's mail are made this way. fn must not write, and
// its error does not roll the transaction back. It must not be called on
// the committer's own goroutine.
func (c *committer) readOpen(fn func(*bolt.Tx) error) (bool, error) {
	if !c.lingering.Load() {
		return false, nil
	}
	rd := &openRead{fn: fn, done: make(chan struct{})}
	select {
	case c.reads <- rd:
		<-rd.done
		return rd.ran, rd.err
	case <-c.stopped:
		return false, nil
	}
}
