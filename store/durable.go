package store

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// mmapSize is the size bbolt maps the database at while the send journal
// is kept. The read transaction that holds the checkpoint also holds
// bbolt's map: a commit that had to map the file anew would wait for it
// forever. Mapping far beyond the file costs address space, not memory;
// the journal is left off once the file reaches mmapLimit.
const (
	mmapSize  = 1 << 36
	mmapLimit = mmapSize / 4
	allocSize = 1 << 20
	// growCap bounds how far the file grows past the checkpoint: the pages
	// the sends rewrite are not reused until the next one, so a longer
	// stream of sends is given a checkpoint first.
	growCap = 8 << 20
)

// A journalEntry is one Append or one Ack as the journal keeps it: what a
// replay needs to make the same writes again, the same messages under the
// same seqs.
type journalEntry struct {
	Now    int64     `json:"now"`              // the time the write was made at, in ns
	Drafts []Draft   `json:"drafts,omitempty"` // an Append: the drafts it stored (none refused, none a duplicate), none of them large
	Ack    *ackEntry `json:"ack,omitempty"`    // an Ack
	// Tx and Boot say which commit the write went into and in which boot
	// of the machine: a database with commits past the journal's last
	// was written by a build that does not read the journal (see
	// writtenPast). The journals of builds before them leave them out.
	Tx   uint64 `json:"tx,omitempty"`
	Boot string `json:"boot,omitempty"`
}

// An ackEntry is an Ack's arguments.
type ackEntry struct {
	Name string   `json:"name"`
	IDs  []string `json:"ids"`
}

// durability is the committer's side of the send journal: which commits it
// may ack after the journal's sync alone, and the checkpoint they follow.
type durability struct {
	room   *room // the data folder, for the error of a full disk
	db     *bolt.DB
	noSync bool     // Options.NoSync: bbolt never syncs, and nothing is journaled
	j      *journal // nil: every commit is synced by bbolt
	dbf    *os.File // the database file, read for the checkpoint's meta page
	pin    *bolt.Tx // read transaction at the checkpoint; nil: none taken
	ck     checkpoint
	size   int64  // the file's size in use as of the last journaled commit
	seq    uint64 // commits so far
	sync   func(*os.File) error

	// flights are journaled batches whose records the syncer has still to
	// sync before they are acked: the committer goes on to the next batch
	// meanwhile, so that a reply to a pushed message is not committed
	// behind the sync of the message it answers.
	flights chan *flight
	stopped chan struct{} // closed once the syncer has answered every flight

	mu sync.Mutex
	// fault is a failed write, sync or clear of the journal: until a
	// checkpoint follows it, the journal may end before records that
	// were not synced, or name a checkpoint a later one replaced, so
	// nothing is journaled, and no flight that no checkpoint covers is
	// acked.
	fault error
	// covered: every commit numbered below it is in a checkpoint, on disk
	// whatever became of its record.
	covered uint64
	// broken is set when acked writes could be neither committed nor
	// written again (committer.abandon): only the journal holds them, so
	// it is not cleared, and the store answers nothing until they are
	// stored, by committer.mend or by the replay of the next Open.
	// isBroken spares every read the lock.
	broken   error
	isBroken atomic.Bool
}

// A flight is a journaled batch waiting for the sync of its record.
type flight struct {
	seq   uint64
	batch []*request
	errs  []error
}

func (d *durability) faulted() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fault
}

func (d *durability) brokenErr() error {
	if !d.isBroken.Load() {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.broken
}

// breakDown marks the store broken by err and returns the error its
// requests get from now on.
func (d *durability) breakDown(err error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.broken == nil {
		d.broken = fmt.Errorf("%w: the acked messages are kept in the send journal, and stored by the first request that finds room for them (or when the store is next opened); until then the store answers nothing", err)
		d.isBroken.Store(true)
	}
	if d.fault == nil {
		d.fault = d.broken
	}
	return d.broken
}

// mend undoes breakDown, once committer.mend has stored the acked writes
// and cleared the journal.
func (d *durability) mend() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.broken = nil
	d.isBroken.Store(false)
}

func (d *durability) setFault(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fault == nil {
		d.fault = err
	}
}

// syncLoop syncs the journal for the flights queued, as many as are
// waiting, with one sync, and answers them.
func (d *durability) syncLoop() {
	defer close(d.stopped)
	for f := range d.flights {
		group := drain([]*flight{f}, d.flights)
		if err := d.sync(d.j.f); err != nil {
			d.setFault(fmt.Errorf("sync send journal: %w", err))
		}
		for _, f := range group {
			d.mu.Lock()
			fault, covered := d.fault, d.covered
			d.mu.Unlock()
			var err error
			if fault != nil && f.seq >= covered {
				err = fault
			}
			for i, r := range f.batch {
				r.done <- d.room.check(cmp.Or(f.errs[i], err))
			}
		}
	}
}

// journaled reports whether batch may be acked after its journal record's
// sync: it holds only sends without large bodies, and a checkpoint is held.
func (d *durability) journaled(batch []*request) bool {
	if d.j == nil || d.pin == nil || d.faulted() != nil || d.j.off >= journalCap ||
		d.pin.Size() >= mmapLimit || d.size-d.pin.Size() >= growCap {
		return false
	}
	for _, r := range batch {
		if r.entry == nil {
			return false
		}
	}
	return true
}

// record writes the journal record of batch seq, whose writes are in tx,
// and returns the record's payload, and whether it was synced as it was
// written (the first after a checkpoint is). If not, its flight goes to
// the syncer, which answers the batch. errs marks the requests that were
// skipped. A record that fails to be written whole is taken back: its
// requests are told they failed, so a replay must not store them; if that
// fails too, the journal is faulted until a checkpoint clears it.
func (d *durability) record(tx *bolt.Tx, seq uint64, batch []*request, errs []error) ([]byte, bool, error) {
	d.size = tx.Size()
	entries := make([]journalEntry, 0, len(batch))
	for i, r := range batch {
		if errs[i] == nil {
			e := *r.entry
			e.Tx, e.Boot = uint64(tx.ID()), thisBoot()
			entries = append(entries, e)
		}
	}
	payload, err := json.Marshal(entries)
	if err != nil {
		return nil, false, fmt.Errorf("send journal: %w", err)
	}
	off := d.j.off
	synced, err := d.j.append(d.ck, payload, d.sync)
	if err != nil {
		d.setFault(err)
		if rerr := d.j.retract(off); rerr != nil {
			d.setFault(rerr)
		}
		return nil, false, err
	}
	if !synced {
		d.flights <- &flight{seq: seq, batch: batch, errs: errs}
	}
	return payload, synced, nil
}

// checkpoint follows a commit that bbolt synced: the journal is cleared on
// disk, and that commit becomes the checkpoint the next records name. A
// commit is acked only after this, since a replay of the old journal would
// undo it.
func (d *durability) checkpoint() error {
	if d.j == nil {
		return nil
	}
	if err := d.j.clear(); err != nil {
		d.setFault(err)
		return err
	}
	d.mu.Lock()
	d.fault, d.covered = nil, d.seq+1
	d.mu.Unlock()
	d.unpin()
	pin, err := d.db.Begin(false)
	if err != nil {
		return nil // no checkpoint: commits are synced by bbolt until one is taken
	}
	size := d.db.Info().PageSize
	page := make([]byte, size)
	txid := uint64(pin.ID())
	if _, err := d.dbf.ReadAt(page, int64(txid%2)*int64(size)); err != nil {
		pin.Rollback()
		return nil
	}
	if got, ok := metaTxidOf(page); !ok || got != txid {
		// Not the meta page this code knows how to restore: keep to
		// bbolt's own syncs.
		pin.Rollback()
		return nil
	}
	d.pin, d.ck, d.size = pin, checkpoint{txid: txid, page: page}, pin.Size()
	return nil
}

func (d *durability) unpin() {
	if d.pin != nil {
		d.pin.Rollback()
		d.pin = nil
	}
}

// close syncs the last commits and clears the journal, so that a store
// closed in order leaves nothing to replay, then lets go of the
// checkpoint (bbolt's Close waits for every read transaction).
func (d *durability) close() error {
	if d.j == nil {
		return nil
	}
	close(d.flights)
	<-d.stopped
	var err error
	if err = d.brokenErr(); err != nil {
		// Only the journal holds some acked sends: keep it for the next
		// Open to replay.
		d.unpin()
		d.dbf.Close()
		d.j.close()
		return err
	}
	if d.j.off > 0 || d.faulted() != nil {
		d.db.NoSync = false
		if err = d.db.Update(func(*bolt.Tx) error { return nil }); err == nil {
			err = d.j.clear()
		}
	}
	d.unpin()
	d.dbf.Close()
	if cerr := d.j.close(); err == nil {
		err = cerr
	}
	return err
}
