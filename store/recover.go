package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// What Open does with the send journal before the committer starts: lock
// the database file, put back the checkpoint a journal names after a crash
// or a power loss, and store its sends again. See journal.go for the file.

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
	file      *os.File // the database file bbolt opened (held, or one of its own)
	recovered bool     // the journal named a checkpoint: its sends are stored again, then it is cleared
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
	if writtenPast(f, ck, payloads) {
		// The file is whole as that build left it, and its commits are
		// the newest: keep them, and store the journal's sends again on
		// top, which brings back those acked in a commit that was still
		// open when the broker was killed; a send the file holds already
		// is found by its id and stored once.
		j.off = headerFixed
		return recovery{j: j, held: f, recovered: true, payloads: payloads}, nil
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

// writtenPast reports whether the locked database file f holds commits
// that the journal's own writes cannot account for: past the last commit
// its records went into, and past the one commit, synced, that may follow
// that before the journal is cleared. A build that does not read the
// journal writes those: one from before it, run on the data folder after a
// broker that keeps the journal was killed. Putting back the checkpoint
// would undo that build's commits, and name pages it may have reused.
// (This build writes some too when a failed batch is retried a request at
// a time; the file is whole then all the same.)
//
// Only a file written in the boot that wrote the journal is known to be
// whole as its last writer left it. After a restart of the machine,
// commits past the journal's records are more likely this build's own,
// whose records the power took before they reached the disk: there the
// checkpoint is what is whole. A journal whose records do not name their
// commits (those of the first builds that kept one) tells nothing either.
// One or two commits of another build are not told from this build's own:
// the commit open when the broker was killed may be missing from the file.
func writtenPast(f *os.File, ck checkpoint, payloads [][]byte) bool {
	var last uint64
	var boot string
	for _, p := range payloads {
		var entries []journalEntry
		if json.Unmarshal(p, &entries) != nil {
			return false // replay says what is wrong with it
		}
		for _, e := range entries {
			if e.Tx > last {
				last, boot = e.Tx, e.Boot
			}
		}
	}
	if last == 0 || boot == "" || boot != thisBoot() {
		return false
	}
	newest, whole := newestCommit(f, len(ck.page))
	return whole > 0 && newest > last+1
}

// newestCommit returns the newest txid of the meta pages of the database
// file f, whose pages are size bytes, and how many of the two are whole.
func newestCommit(f *os.File, size int) (newest uint64, whole int) {
	for slot := range 2 {
		page := make([]byte, size)
		if _, err := f.ReadAt(page, int64(slot*size)); err == nil {
			if txid, ok := metaTxidOf(page); ok {
				whole++
				newest = max(newest, txid)
			}
		}
	}
	return newest, whole
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
		r.file = r.held
		return r.held, nil
	}
	f, err := os.OpenFile(name, flag, perm)
	r.file = f
	return f, err
}

// replaced reports whether the database file that bbolt opened, and whose
// lock it holds, is no longer the file at path: another process put a
// file in its place while this one waited for the lock.
func (r *recovery) replaced(path string) bool {
	if r.file == nil {
		return false
	}
	held, err := r.file.Stat()
	if err != nil {
		return false
	}
	now, err := os.Stat(path)
	return err != nil || !os.SameFile(held, now)
}

// durability makes the committer's side of the journal once the database
// is open and the journal's sends are stored again; rm is the data
// folder's.
func (r *recovery) durability(db *bolt.DB, rm *room, noSync bool) (*durability, error) {
	d := &durability{room: rm, db: db, noSync: noSync}
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
