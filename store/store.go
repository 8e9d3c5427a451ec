package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is wrapped by the error Open returns when another process holds
// the data folder's database.
var ErrLocked = errors.New("data folder is locked by another ipcmesh broker")

// ErrNewerStore is wrapped by the error Open returns for a database that a
// newer ipcmesh marked with a schema this build does not know: writing it
// could leave the newer build a store it reads wrong.
var ErrNewerStore = errors.New("the store was written by a newer ipcmesh")

const (
	dbFile   = "ipcmesh.db"
	largeDir = "large-messages"
)

// The defaults of the message limits: DefaultLargeMessageBytes is
// Options.LargeMessageBytes when it is 0, DefaultMaxMessageBytes
// Options.MaxMessageBytes. The faces and the configuration size what they
// accept by the same numbers.
const (
	DefaultLargeMessageBytes = 10240
	DefaultMaxMessageBytes   = 8 << 20
)

// Options configure a Store. Zero fields take the defaults shown.
type Options struct {
	Dir               string           // data folder (required)
	LargeMessageBytes int              // bodies longer than this spill to a file; default 10240
	MaxMessageBytes   int              // bodies longer than this get too_large; default DefaultMaxMessageBytes
	InboxCap          int              // unread messages per inbox before inbox_full; default 100000
	HistoryRetention  time.Duration    // read messages are kept this long after being read, and instances unseen this long are forgotten (forget.go); default 30 days
	QueueRetention    time.Duration    // unread messages to never-registered names expire after this; default 7 days
	ForwardFor        time.Duration    // a renamed name forwards to the new one this long; default 2 h
	DedupRetention    time.Duration    // how long a rename request id is remembered; default 24 h
	LockTimeout       time.Duration    // how long Open waits for another process's lock; default 2 s
	Now               func() time.Time // default time.Now; tests move time with it
	// NoSync skips the fsync of every commit. Only for a store that is a
	// copy its owner can rebuild from elsewhere, as natsstore's view of the
	// cluster is: a power loss may then leave the file damaged.
	NoSync bool
}

// Limits are the settings by which a store refuses a write: a message or
// shared value over MaxMessageBytes is too_large, and a message to an inbox
// already holding InboxCap unread is inbox_full. A store decides the writes
// made to it by the limits of its Options. A view of a log that the brokers
// of several hosts write (natsstore) decides each write by the limits of
// the broker that made it (AppendWithin, ShareWithin): by its own, a view
// on a host with a lower IPC_MAX_MESSAGE_BYTES or IPC_INBOX_CAP would refuse
// a message the others stored, and its users would never see what its
// sender was told was delivered.
type Limits struct {
	MaxMessageBytes int `json:"max_message_bytes,omitempty"`
	InboxCap        int `json:"inbox_cap,omitempty"`
}

// or fills the zero fields of l from def.
func (l Limits) or(def Limits) Limits {
	if l.MaxMessageBytes <= 0 {
		l.MaxMessageBytes = def.MaxMessageBytes
	}
	if l.InboxCap <= 0 {
		l.InboxCap = def.InboxCap
	}
	return l
}

// Limits returns the limits of the store's Options.
func (s *Store) Limits() Limits {
	return Limits{MaxMessageBytes: s.opts.MaxMessageBytes, InboxCap: s.opts.InboxCap}
}

func (o Options) withDefaults() Options {
	if o.LargeMessageBytes <= 0 {
		o.LargeMessageBytes = DefaultLargeMessageBytes
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.InboxCap <= 0 {
		o.InboxCap = 100000
	}
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = 30 * 24 * time.Hour
	}
	if o.QueueRetention <= 0 {
		o.QueueRetention = 7 * 24 * time.Hour
	}
	if o.ForwardFor <= 0 {
		o.ForwardFor = 2 * time.Hour
	}
	if o.DedupRetention <= 0 {
		o.DedupRetention = 24 * time.Hour
	}
	if o.LockTimeout <= 0 {
		// bbolt waits forever on a zero timeout; a broker must rather fail
		// and say why.
		o.LockTimeout = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store is the broker's persistent state. Its methods are safe for
// concurrent use.
type Store struct {
	opts      Options
	dir       string
	largeDir  string
	sharedDir string
	db        *bolt.DB
	c         *committer
	room      *room
	idx       *indexer
	sent      atomic.Uint64 // Append commits that stored messages, for the indexer's pacing
	orphans   orphans
	files     fileGuard
	// readFile reads a spill file that a record names: readRegular, but
	// in tests one that changes the store just before the file is read.
	readFile func(path string) ([]byte, error)

	closeOnce sync.Once
	closeErr  error
}

// DatabasePath is the store's database file in the data folder dir.
func DatabasePath(dir string) string { return filepath.Join(dir, dbFile) }

// Open opens the store in opts.Dir, creating the folder and the database if
// they are missing. It fails with an error wrapping ErrLocked when another
// broker holds the folder for longer than opts.LockTimeout, and with one
// wrapping ErrDamaged when the database file is not whole.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("open store: a data folder is required")
	}
	opts = opts.withDefaults()
	// Before anything else: files modified from now on are this store's own.
	opened := opts.Now()
	// Message paths handed to clients must work from any working directory.
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", opts.Dir, err)
	}
	opts.Dir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: create data folder: %w", dir, denied(filepath.Dir(dir), err))
	}
	large := filepath.Join(dir, largeDir)
	shared := filepath.Join(dir, sharedDir)
	for _, d := range []string{large, shared} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: create %s: %w", dir, d, denied(dir, err))
		}
	}

	path := filepath.Join(dir, dbFile)
	rec, err := openDB(dir, path, opts)
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: %w: another ipcmesh broker is using the data folder %s (waited %v for it to let go); stop it or choose another data folder", path, ErrLocked, dir, opts.LockTimeout)
	case errors.Is(err, ErrDamaged):
		return nil, damaged(path, err)
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, denied(dir, err))
	}
	db := rec.db
	s := &Store{
		opts:      opts,
		dir:       dir,
		largeDir:  large,
		sharedDir: shared,
		db:        db,
		readFile:  readRegular,
	}
	fail := func(what string, err error) (*Store, error) {
		rec.abandon()
		db.Close()
		return nil, fmt.Errorf("open store %s: %s: %w", path, what, err)
	}
	// Until the journal is cleared, a crash must find the checkpoint it
	// names as it was: hold it.
	if err := rec.pin(); err != nil {
		return fail("hold the send journal's checkpoint", err)
	}
	if err := unpackFiles(db, dir); err != nil {
		// The backup's bucket keeps the files until they are written,
		// and the next Open writes them again: say so, or a restore
		// that met a full disk here reads as one lost.
		return fail("put back the large bodies of a restored backup (the store keeps them until they are written: fix what failed, a full disk above all, then start the broker again)", err)
	}
	removePartial(dir)
	removeCompactLeftovers(dir)
	var wm uint64
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		if err := markSchema(tablesOf(tx)); err != nil {
			return err
		}
		wm = watermark(tablesOf(tx).meta())
		_, err := s.replay(tx, rec.payloads)
		return err
	}); err != nil {
		if len(rec.payloads) > 0 {
			// Not a fault of the store's layout: what failed is most
			// likely the disk (full), and the journal keeps the sends.
			return fail(fmt.Sprintf("store again the %d records of acked sends and acks that the send journal %s keeps (it keeps them until they are stored: fix what failed, a full disk above all, then start the broker again)",
				len(rec.payloads), filepath.Join(dir, journalFile)), err)
		}
		if errors.Is(err, ErrNewerStore) {
			return fail("check its schema", err)
		}
		return fail("create buckets", err)
	}
	s.room = &room{dir: dir, now: opts.Now}
	d, err := rec.durability(db, s.room, opts.NoSync)
	if err != nil {
		return fail("send journal", err)
	}
	s.c = newCommitter(db, d, s.replay, s.room)
	s.orphans.opened = opened
	s.idx = newIndexer(s, wm)
	return s, nil
}

// damaged is Open's error for a damaged database file: what is wrong and
// how to get a whole store back.
func damaged(path string, err error) error {
	return fmt.Errorf("open store %s: %w; ipcmesh will not use it: stop every ipcmesh process of this data folder and put a backup in its place with ipcmesh restore FILE (the folder's backups/ holds the backups the broker wrote and the store as it was before each restore)", path, err)
}

// openDB locks the database file at path, recovers it from the send
// journal of the data folder dir if need be, and opens it with bbolt.
//
// A process that replaces the file (compact renames its copy over it,
// restore sets a damaged one aside and makes a new one) does so while it
// holds the lock, and a broker that opened the file meanwhile waits for
// the lock on the file that is then gone from the folder: it would serve
// a store nobody opens again, and every write acked into it would be
// lost. So the file locked must still be the one at path, or it is
// opened again.
func openDB(dir, path string, opts Options) (recovery, error) {
	for tries := 1; ; tries++ {
		rec, err := lockAndOpen(dir, path, opts)
		if err != nil || !rec.replaced(path) {
			return rec, err
		}
		rec.abandon()
		rec.db.Close()
		if tries == maxReplaced {
			return recovery{}, fmt.Errorf("%s was replaced %d times while this process waited for its lock (ipcmesh compact or restore running again and again?): run it again once they are done", path, tries)
		}
	}
}

// maxReplaced bounds how often openDB opens a database file again that was
// replaced while it waited for the lock: only a compact or a restore does
// that, once each run.
const maxReplaced = 5

// lockAndOpen is one try of openDB.
func lockAndOpen(dir, path string, opts Options) (recovery, error) {
	rec, err := prepareJournal(dir, path, opts.LockTimeout)
	if err == nil {
		// bbolt reads every page when it opens a file for writing, and a
		// damaged one crashes the process there: check it first, under the
		// lock prepareJournal took, where it takes one.
		if rec.held != nil {
			err = checkFile(path)
		} else {
			err = checkLocked(path, opts.LockTimeout)
		}
	}
	// A store bbolt never syncs keeps no checkpoint, but one being
	// recovered holds its checkpoint until the journal is cleared.
	mapped := rec.recovered || rec.j != nil && !opts.NoSync
	if err == nil {
		bopts := &bolt.Options{
			Timeout: opts.LockTimeout,
			// The freelist is rebuilt from the pages when the file is
			// opened instead of being written on every commit: one page
			// less per fsync on the send path, paid once per election.
			NoFreelistSync: true,
			FreelistType:   bolt.FreelistMapType,
			NoSync:         opts.NoSync,
			OpenFile:       rec.openFile,
		}
		if mapped {
			bopts.InitialMmapSize = mmapSize
		}
		err = guarded(func() (err error) {
			rec.db, err = bolt.Open(path, 0o600, bopts)
			return err
		})
	}
	if err != nil {
		rec.abandon()
	} else if mapped {
		// Mapped at mmapSize, bbolt would grow the file by its default
		// 16 MiB at a time: keep a small store small.
		rec.db.AllocSize = allocSize
	}
	return rec, err
}

// Close stops the background indexer (the index keeps its watermark and
// catches up after the next Open), commits the writes already queued, then
// closes the database. Writes
// submitted after Close fail; Close may be called more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.idx.close()
		s.c.close()
		if err := s.c.d.close(); err != nil {
			s.closeErr = fmt.Errorf("close store %s: %w", s.dir, err)
		}
		if err := s.db.Close(); err != nil && s.closeErr == nil {
			s.closeErr = fmt.Errorf("close store %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// view runs fn in a read transaction. A read begun once Close has closed the
// database gets ErrClosed, as a write would, and not bbolt's own error: the
// caller can tell a store going away from a fault.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	s.c.flush()
	if err := s.whole(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// whole returns nil if the store holds every write it acked, as a read
// must see it. A broken store (durability.broken) is asked to mend first,
// by a write of nothing: the committer stores the acked writes it lost
// before any other, if the disk has room for them again.
func (s *Store) whole() error {
	if s.c.d.brokenErr() == nil {
		return nil
	}
	return s.c.submit(context.Background(), func(*bolt.Tx) error { return nil })
}

// Dir is the absolute path of the data folder.
func (s *Store) Dir() string { return s.dir }

// Options returns the options the store runs with, defaults filled in.
func (s *Store) Options() Options { return s.opts }

func (s *Store) now() time.Time { return s.opts.Now() }
