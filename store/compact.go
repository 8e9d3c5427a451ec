package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// bbolt reuses the pages a commit frees but never gives them back to the
// file system: after a burst of mail, read and swept since, the database
// file stays as large as it ever was. Compact writes a copy of the store
// that holds only the pages in use and puts it in place of the file.

// CompactOptions tune Compact.
type CompactOptions struct {
	// LockTimeout is how long Compact waits for the database's lock, which
	// a broker holds while it serves the folder.
	LockTimeout time.Duration
	// DryRun writes and checks the copy, reports its size, and removes
	// it: the database file stays as it is.
	DryRun bool
}

// CompactResult says what Compact did.
type CompactResult struct {
	Path   string // the database file
	Before int64  // its size before, in bytes
	After  int64  // its size after (with DryRun, the size it would have)
	Stats  Stats  // the store's totals, the same in the copy as in the file
}

// compactSuffix ends the name of the copy Compact writes beside the
// database file ("." + dbFile + ".*" + compactSuffix). One that a crash or
// a kill left behind is a copy that never took the file's place: Open and
// the next Compact remove it (removeCompactLeftovers).
const compactSuffix = ".compact"

// compactTxBytes bounds the keys and values Compact copies in one
// transaction of the copy, and so the memory its dirty pages take.
const compactTxBytes = 16 << 20

// Compact rewrites the database of the data folder dir into a copy that
// holds only the pages in use, and puts it in place of the file. Nothing
// may use the store meanwhile: Compact takes the database's lock, waiting
// at most opts.LockTimeout, and fails with ErrLocked while a broker holds
// it. Sends a broker acked into the send journal and did not store (it
// was killed) are stored first, by opening the store, as any broker would.
//
// The copy is written beside the file, in the same folder and so on the
// same file system, synced, and checked before it is renamed over the
// file, and the folder is synced: it opens, passes the store's own check
// of its pages, and holds the same buckets with the same keys, values and
// sequences as the file (a checksum of each top-level bucket), and so the
// same totals. A crash or a power loss before the rename leaves the file
// as it was and a copy beside it, which Open and the next Compact remove;
// after it, the copy, whole, in the file's place. Large bodies live in
// files of their own, which the copy names as the file did: nothing of
// them is copied.
func Compact(dir string, opts CompactOptions) (CompactResult, error) {
	var res CompactResult
	dir, err := filepath.Abs(dir)
	if err != nil {
		return res, fmt.Errorf("compact %s: %w", dir, err)
	}
	live := filepath.Join(dir, dbFile)
	res.Path = live
	fi, err := os.Stat(live)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return res, fmt.Errorf("compact %s: there is no store to compact (%s is missing): is IPC_DATA_DIR the data folder you meant?", dir, live)
	case err != nil:
		return res, fmt.Errorf("compact %s: %w", dir, err)
	case fi.Size() == 0:
		return res, fmt.Errorf("compact %s: %s is empty: there is no store to compact", dir, live)
	}
	// Sends still in the journal are part of the store: Open stores them
	// and clears the journal, which names a commit of the file being
	// replaced and would otherwise be replayed onto the copy.
	if journalPending(dir) {
		s, oerr := Open(Options{Dir: dir, LockTimeout: opts.LockTimeout})
		if oerr == nil {
			oerr = s.Close()
		}
		err = oerr
	}
	if err == nil {
		if err = checkLocked(live, opts.LockTimeout); errors.Is(err, ErrDamaged) {
			err = damaged(live, err)
		}
	}
	var src *bolt.DB
	if err == nil {
		// Opened for writing, for the lock a broker takes, that keeps
		// brokers and other compacts out until the copy is in place; the
		// options are the store's, with which bbolt writes nothing when
		// it opens the file.
		err = guarded(func() (err error) {
			src, err = bolt.Open(live, 0o600, &bolt.Options{
				Timeout:        opts.LockTimeout,
				NoFreelistSync: true,
				FreelistType:   bolt.FreelistMapType,
			})
			return err
		})
		if errors.Is(err, ErrDamaged) {
			err = damaged(live, err)
		}
	}
	if err == nil && journalPending(dir) {
		// A broker took the store after the journal was looked at, acked
		// sends and went down: the journal names a commit of this file.
		src.Close()
		err = ErrLocked
	}
	switch {
	case errors.Is(err, bolterrors.ErrTimeout) || errors.Is(err, ErrLocked):
		return res, fmt.Errorf("compact %s: %w: a broker is using this data folder; stop every ipcmesh process that uses it (the assistants' MCP servers too, or they elect a new broker), then compact", dir, ErrLocked)
	case err != nil:
		return res, fmt.Errorf("compact %s: %w", dir, err)
	}
	defer src.Close()
	// Under the lock no other compact is writing a copy.
	removeCompactLeftovers(dir)
	if fi, err = os.Stat(live); err != nil {
		return res, fmt.Errorf("compact %s: %w", dir, err)
	}
	res.Before = fi.Size()

	dst, tmp, err := compactCopy(src, dir)
	if err != nil {
		var full *fullDiskError
		if errors.As(noRoom(dir, err), &full) {
			return res, fmt.Errorf("compact %s: the disk has no room for the copy, which takes about what the store holds (at most %s): free space in %s, then compact again; the store is left as it was: %w", live, human.Size(int(res.Before)), dir, err)
		}
		return res, fmt.Errorf("compact %s: write the copy (the store is left as it was): %w", live, denied(dir, err))
	}
	// The copy stays open, and so locked, until it is in place: a broker
	// that opens the folder meanwhile waits for it, and one that opened
	// the file it replaces finds that file gone once it has its lock, and
	// opens the copy (see openDB). It is closed before the file it
	// replaces, whose lock the defer before lets go of.
	placed := false
	defer func() {
		dst.Close()
		if !placed {
			os.Remove(tmp)
		}
	}()
	if res.Stats, err = sameStore(src, dst, tmp); err != nil {
		return res, fmt.Errorf("compact %s: the copy does not hold what the store does (the store is left as it was): %w", live, err)
	}
	if fi, err = os.Stat(tmp); err != nil {
		return res, fmt.Errorf("compact %s: %w", live, err)
	}
	res.After = fi.Size()
	if opts.DryRun {
		return res, nil
	}
	if runtime.GOOS == "windows" {
		// Windows renames no file over one that is open. Let go of both:
		// a broker that opens the file meanwhile makes the rename fail,
		// and the store stays as it was.
		dst.Close()
		src.Close()
	}
	if err := os.Rename(tmp, live); err != nil {
		return res, fmt.Errorf("compact %s: put the copy in place (the store is left as it was): %w", live, err)
	}
	placed = true
	if err := syncDir(dir); err != nil {
		// The copy is in place, whole and synced; after a power loss the
		// folder may still name the file as it was, which holds the same.
		return res, fmt.Errorf("compact %s: the copy is in place, but syncing the folder failed: %w", live, err)
	}
	return res, nil
}

// compactCopy writes a compact copy of src into a new file in dir and
// syncs it. It returns the copy, open, and its path; on error it leaves no
// file behind.
func compactCopy(src *bolt.DB, dir string) (dst *bolt.DB, path string, err error) {
	f, err := os.CreateTemp(dir, "."+dbFile+".*"+compactSuffix)
	if err != nil {
		return nil, "", err
	}
	path = f.Name()
	err = f.Chmod(0o600)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	var file *os.File
	if err == nil {
		dst, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout: time.Second,
			// Nothing is synced until the copy is whole: a crash before
			// leaves a copy that is removed, whatever it holds.
			NoSync:         true,
			NoGrowSync:     true,
			NoFreelistSync: true,
			FreelistType:   bolt.FreelistMapType,
			// The file, kept to be synced once the copy is whole.
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			},
		})
	}
	if err == nil {
		err = guarded(func() error { return bolt.Compact(dst, src, compactTxBytes) })
		if errors.Is(err, ErrDamaged) {
			err = damaged(src.Path(), err)
		}
	}
	if err == nil {
		err = file.Sync()
	}
	if err != nil {
		if dst != nil {
			dst.Close()
		}
		os.Remove(path)
		return nil, "", err
	}
	return dst, path, nil
}

// sameStore checks that the copy dst, at path, is a whole database that
// holds what src does, and returns the totals they hold.
func sameStore(src, dst *bolt.DB, path string) (Stats, error) {
	if err := checkFile(path); err != nil {
		return Stats{}, err
	}
	var want, got map[string]treeSum
	var st, dstSt Stats
	err := src.View(func(tx *bolt.Tx) (err error) {
		want, err = sumTrees(tx)
		st = statsOf(tx)
		return err
	})
	if err == nil {
		err = dst.View(func(tx *bolt.Tx) (err error) {
			got, err = sumTrees(tx)
			dstSt = statsOf(tx)
			return err
		})
	}
	if err != nil {
		return Stats{}, err
	}
	if len(got) != len(want) {
		return Stats{}, fmt.Errorf("it has %d top-level buckets, the store %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		switch {
		case !ok:
			return Stats{}, fmt.Errorf("it has no bucket %s", name)
		case g.keys != w.keys:
			return Stats{}, fmt.Errorf("its bucket %s holds %s, the store's %d", name, human.Count(g.keys, "key"), w.keys)
		case g != w:
			return Stats{}, fmt.Errorf("its bucket %s holds other keys, values or sequences than the store's", name)
		}
	}
	if dstSt != st {
		return Stats{}, fmt.Errorf("its totals are %+v, the store's %+v", dstSt, st)
	}
	return st, nil
}

// treeSum sums up one top-level bucket: its keys, nested buckets'
// included, and a checksum of every key, value and sequence in it.
type treeSum struct {
	keys int
	sum  uint32
}

// sumTrees sums up every top-level bucket of tx, by name.
func sumTrees(tx *bolt.Tx) (map[string]treeSum, error) {
	sums := make(map[string]treeSum)
	err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		h := crc32.New(castagnoli)
		n := sumBucket(h, b)
		sums[string(name)] = treeSum{keys: n, sum: h.Sum32()}
		return nil
	})
	return sums, err
}

// sumBucket writes b's sequence, keys and values, its nested buckets'
// too, into h, and returns how many keys it holds, with theirs.
func sumBucket(h hash.Hash32, b *bolt.Bucket) int {
	var n8 [8]byte
	put := func(p []byte) {
		binary.BigEndian.PutUint64(n8[:], uint64(len(p)))
		h.Write(n8[:])
		h.Write(p)
	}
	binary.BigEndian.PutUint64(n8[:], b.Sequence())
	h.Write(n8[:])
	n := 0
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n++
		put(k)
		if v != nil {
			h.Write([]byte{'v'})
			put(v)
			continue
		}
		h.Write([]byte{'b'})
		n += sumBucket(h, b.Bucket(k))
		h.Write([]byte{'e'})
	}
	return n
}

// removeCompactLeftovers removes from the data folder dir the copies a
// Compact killed before it put its copy in place left there. Only the
// holder of the database's lock may call it: a Compact holds the lock
// while its copy exists. Errors are ignored: what is left wastes space
// and loses nothing.
func removeCompactLeftovers(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if name := e.Name(); e.Type().IsRegular() && strings.HasPrefix(name, "."+dbFile+".") && strings.HasSuffix(name, compactSuffix) {
			os.Remove(filepath.Join(dir, name))
		}
	}
}
