package store

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

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
}

// An ackEntry is an Ack's arguments.
type ackEntry struct {
	Name string   `json:"name"`
	IDs  []string `json:"ids"`
}

// durability is the committer's side of the send journal: which commits it
// may ack after the journal's sync alone, and the checkpoint they follow.
type durability struct {
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
	// broken is set for good when acked writes could be neither committed
	// nor written again (committer.abandon): only the journal holds them,
	// so it is never cleared, and the store answers nothing more until it
	// is opened again and replays it. isBroken spares every read the lock.
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
		d.broken = fmt.Errorf("%w: the acked messages are kept in the send journal and stored again when the store is opened next: restart the broker", err)
		d.isBroken.Store(true)
	}
	if d.fault == nil {
		d.fault = d.broken
	}
	return d.broken
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
				r.done <- cmp.Or(f.errs[i], err)
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
			entries = append(entries, *r.entry)
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

// replay stores the journal's sends again, in order, each batch with the
// time it was stored at: on the checkpoint the journal follows, the same
// drafts give the same messages under the same seqs. The inbox cap is not
// applied: the journal holds only the drafts that were stored, never one
// refused at the time, so every one of them was accepted once.
func (s *Store) replay(tx *bolt.Tx, payloads [][]byte) (int, error) {
	t := tablesOf(tx)
	n := 0
	for i, p := range payloads {
		var entries []journalEntry
		if err := json.Unmarshal(p, &entries); err != nil {
			return n, fmt.Errorf("replay send journal: record %d: %w", i, err)
		}
		for _, e := range entries {
			now := time.Unix(0, e.Now)
			if e.Ack != nil {
				if _, err := ackTx(t, e.Ack.Name, e.Ack.IDs, now); err != nil {
					return n, fmt.Errorf("replay send journal: ack for %s: %w", e.Ack.Name, err)
				}
				n++
				continue
			}
			for _, d := range e.Drafts {
				if _, err := s.appendTx(t, d, "", now, math.MaxInt); err != nil {
					return n, fmt.Errorf("replay send journal: message %s: %w", d.ID, err)
				}
				n++
			}
		}
	}
	return n, nil
}

// errJournalAlone is wrapped by Open's error for a journal still to
// replay whose database file is missing or empty.
var errJournalAlone = errors.New("the database of the send journal is gone")

// recovery is what Open learns from the journal before bbolt reads the
// database file.
type recovery struct {
	j         *journal
	held      *os.File // the database file, locked (and repaired), for bbolt to open
	recovered bool     // the journal named a checkpoint, now put back
	payloads  [][]byte // the sends to store again
	db        *bolt.DB
	hold      *bolt.Tx // the checkpoint, held until the journal is cleared
}

// pin holds the checkpoint the journal names while Open stores its sends.
func (r *recovery) pin() error {
	if !r.recovered {
		return nil
	}
	tx, err := r.db.Begin(false)
	r.hold = tx
	return err
}

// abandon lets go of what a failed Open took; the journal stays on disk
// for the next one.
func (r *recovery) abandon() {
	if r.hold != nil {
		r.hold.Rollback()
		r.hold = nil
	}
	if r.j != nil {
		r.j.close()
	}
	if r.held != nil && r.db == nil {
		// bbolt never took the file (it closes it when it fails itself).
		r.held.Close()
	}
}

// prepareJournal opens the journal, locks the database file for bbolt to
// open and, when the journal names a checkpoint (the broker before did not
// close the store: it was killed, or the machine went down), puts the
// checkpoint back, so that bbolt opens a file whose every page is whole.
func prepareJournal(dir, path string, timeout time.Duration) (recovery, error) {
	if !journalOn {
		// A journal left by a build that keeps one must not be ignored:
		// the database may be whole only with it.
		if journalPending(dir) {
			_, err := lockDB(path, timeout)
			return recovery{}, err
		}
		return recovery{}, nil
	}
	j, err := openJournal(dir)
	if err != nil {
		return recovery{}, err
	}
	// The checkpoint a journal names is a commit bbolt synced: a database
	// file missing or empty since was taken away by hand, not by a crash.
	// Putting the checkpoint's meta page into a new file would make one
	// that only looks damaged. Asked before lockDB creates the file.
	_, _, ok, err := j.read()
	if err == nil && ok {
		err = alone(dir, path)
	}
	if err != nil {
		j.close()
		return recovery{}, err
	}
	f, err := lockDB(path, timeout)
	if err != nil {
		j.close()
		return recovery{}, err
	}
	// What to recover is read under the lock, held until bbolt has the
	// file. Read before it, the journal could be that of a broker that held
	// the store meanwhile: one still closing (a peer elected while the
	// broker before let go of it), which stores its last sends with a
	// synced commit and clears its journal, so that the checkpoint read
	// before is older than the file, and put back would undo the commits
	// after it, acked sends among them, and name pages they have reused
	// since; or one that took the store, acked sends and went down, whose
	// journal would then go unread and its sends, after a power loss, lost.
	ck, payloads, ok, err := j.read()
	if err == nil && ok {
		err = alone(dir, path)
	}
	if err != nil {
		f.Close()
		j.close()
		return recovery{}, err
	}
	if !ok {
		return recovery{j: j, held: f}, nil
	}
	if err := restoreCheckpoint(f, ck); err != nil {
		f.Close()
		j.close()
		return recovery{}, fmt.Errorf("recover from the send journal: %w", err)
	}
	// The header is still on disk: clear it once the sends are stored.
	j.off = headerFixed
	return recovery{j: j, held: f, recovered: true, payloads: payloads}, nil
}

// alone returns prepareJournal's error for a journal to replay whose
// database file is missing or empty, and nil for a file with pages.
func alone(dir, path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.Size() > 0:
		return nil
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return fmt.Errorf("%w: the send journal %s holds sends to store again into %s, which is missing or empty: put that database file back, or move the journal out of the data folder to start with an empty store (its sends are then lost)",
		errJournalAlone, filepath.Join(dir, journalFile), path)
}

// metaTxidOf returns the txid of a meta page, and whether it is a whole
// meta page (magic, version and checksum hold).
func metaTxidOf(page []byte) (uint64, bool) {
	m, err := (&checker{r: bytes.NewReader(page)}).readMeta(0)
	return m.txid, err == nil
}

// journalPending reports whether the data folder dir holds a journal whose
// sends are still to be stored.
func journalPending(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, journalFile))
	if err != nil {
		return false
	}
	_, _, ok := parseJournal(data)
	return ok
}

// openFile hands bbolt the file prepareJournal locked, if any.
func (r *recovery) openFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	if r.held != nil {
		return r.held, nil
	}
	return os.OpenFile(name, flag, perm)
}

// durability makes the committer's side of the journal once the database
// is open and the journal's sends are stored again.
func (r *recovery) durability(db *bolt.DB, noSync bool) (*durability, error) {
	d := &durability{db: db, noSync: noSync}
	if r.j == nil {
		return d, nil
	}
	if r.recovered {
		// The sends are stored again, by a commit bbolt synced, unless
		// this store is opened without syncs: the journal that held them
		// goes only once they are on disk all the same.
		if noSync {
			if err := db.Sync(); err != nil {
				return nil, fmt.Errorf("sync the sends stored again from the send journal: %w", err)
			}
		}
		if err := r.j.clear(); err != nil {
			return nil, err
		}
		r.hold.Rollback()
		r.hold = nil
	}
	if noSync {
		// bbolt never syncs this store: there is no checkpoint to keep.
		return d, r.j.close()
	}
	if err := r.j.preallocate(); err != nil {
		return nil, err
	}
	dbf, err := os.Open(db.Path())
	if err != nil {
		return nil, fmt.Errorf("open %s for its checkpoints: %w", db.Path(), err)
	}
	d.j, d.dbf, d.sync = r.j, dbf, datasync
	d.flights, d.stopped = make(chan *flight, queueDepth), make(chan struct{})
	go d.syncLoop()
	return d, d.checkpoint()
}
