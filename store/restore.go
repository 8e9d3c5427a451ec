package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"

	bolt "go.etcd.io/bbolt"
)

// RestoreResult says what Restore did.
type RestoreResult struct {
	Stats    Stats  // of the store as restored
	Previous string // a backup of the store as it was, in the data folder's backups/
	// Damaged says the store was damaged: Previous is then the damaged
	// file itself, set aside as it was for whoever wants to look into it.
	Damaged bool
}

// Restore replaces the store of the data folder dir with the backup at
// from (a file Backup wrote). Nothing may use the store meanwhile: Restore
// takes the database's lock, waiting at most lockTimeout, and fails with
// ErrLocked while a broker holds it. The store as it was is first backed
// up into dir's backups/ folder, so a restore can be undone by restoring
// that; then every bucket is replaced in one transaction, so a crash
// leaves the old store or the new one, never a mix. The backup's large
// bodies are written back into the data folder when the store is next
// opened, which Restore does last, to count what it restored. A damaged
// store (see ErrDamaged) cannot be copied: its file is moved into backups/
// as it is, and the backup restored into a new one.
func Restore(dir, from string, lockTimeout time.Duration) (RestoreResult, error) {
	var res RestoreResult
	dir, err := filepath.Abs(dir)
	if err != nil {
		return res, fmt.Errorf("restore into %s: %w", dir, err)
	}
	live := filepath.Join(dir, dbFile)
	src, err := openRestorable(dir, from)
	if err != nil {
		return res, err
	}
	defer src.Close()

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, fmt.Errorf("restore into %s: %w", dir, err)
	}
	// Sends still in the journal belong to the store being replaced: Open
	// stores them, so that the copy kept of it holds them, and clears the
	// journal, which would otherwise be replayed onto the restored store.
	if journalPending(dir) {
		s, oerr := Open(Options{Dir: dir, LockTimeout: lockTimeout})
		if oerr == nil {
			oerr = s.Close()
		}
		switch {
		case errors.Is(oerr, errJournalAlone):
			err = setJournalAside(dir)
		case !errors.Is(oerr, ErrDamaged):
			err = oerr
		}
	}
	if err == nil {
		err = checkLocked(live, lockTimeout)
	}
	if errors.Is(err, ErrDamaged) {
		res.Damaged = true
		res.Previous, err = setAside(live, dir)
	}
	var dst *bolt.DB
	if err == nil {
		dst, err = bolt.Open(live, 0o600, &bolt.Options{Timeout: lockTimeout})
	}
	if err == nil && journalPending(dir) {
		// A broker took the store after the journal was looked at, acked
		// sends and went down. Its journal names a checkpoint of the store
		// being replaced: the next Open would put that back over the
		// restored file.
		dst.Close()
		err = ErrLocked
	}
	if errors.Is(err, bolterrors.ErrTimeout) || errors.Is(err, ErrLocked) {
		return res, fmt.Errorf("restore into %s: %w: a broker is using this data folder; stop every ipcmesh process that uses it (the assistants' MCP servers too, or they elect a new broker), then restore", dir, ErrLocked)
	}
	if err != nil {
		if full := withoutRoom(from, dir, err); full != nil {
			return res, full
		}
		return res, fmt.Errorf("restore into %s: %w", dir, err)
	}
	if !res.Damaged {
		res.Previous, err = keepPrevious(dst, dir)
	}
	if err == nil {
		err = replaceBuckets(dst, src)
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if full := withoutRoom(from, dir, err); full != nil {
			return res, full
		}
		return res, fmt.Errorf("restore %s into %s: %w", from, dir, err)
	}
	s, err := Open(Options{Dir: dir, LockTimeout: lockTimeout})
	if err != nil {
		return res, fmt.Errorf("restore %s into %s: the backup is in place of the store, but the store does not open: %w", from, dir, err)
	}
	res.Stats, err = s.Stats()
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return res, err
}

// withoutRoom words err, met by a restore of from into the data folder
// dir before the restored store was committed, when the disk had no room
// for a write; it is nil for any other error. Up to that commit the store
// is as it was: the sends of its journal are stored in a commit of their
// own or kept in the journal, the copy of the store as it was (about its
// size) comes next, and the restore's one transaction is undone whole.
func withoutRoom(from, dir string, err error) error {
	var full *fullDiskError
	if !errors.As(noRoom(dir, err), &full) {
		return nil
	}
	return fmt.Errorf("restore %s into %s: the disk has no room for it, and for the copy of the store as it was that a restore keeps in backups/ first (about the store's size): free space in %s, then restore again; the store is left as it was: %w", from, dir, dir, err)
}

// newerBackup is the error of a restore of a backup that a newer build
// wrote. It matches ErrNewerStore, whose words are about the store in
// use: said of a backup, they read as if the live store were the newer.
type newerBackup struct {
	path   string
	schema uint64
}

func (e newerBackup) Error() string {
	return fmt.Sprintf("restore %s: the backup was written by a newer ipcmesh: its schema is %d, and this ipcmesh reads schemas up to %d; nothing was changed: restore it with that newer ipcmesh (ipcmesh version names a build), or give a backup made by this one", e.path, e.schema, schemaCollab)
}

func (e newerBackup) Is(target error) bool { return target == ErrNewerStore }

// sameFile reports whether the paths a and b name one file that exists,
// by whatever links.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// CheckBackup checks, as Restore does first, that the file from is a
// whole backup made by Backup, and not the store of the data folder dir,
// and says what is wrong with it if not: Restore would refuse it. A
// restore handed over to a broker checks so before it stops anything.
func CheckBackup(dir, from string) error {
	db, err := openRestorable(dir, from)
	if err != nil {
		return err
	}
	return db.Close()
}

// openRestorable opens from, read-only, if Restore may restore it into
// the data folder dir.
func openRestorable(dir, from string) (*bolt.DB, error) {
	live := filepath.Join(dir, dbFile)
	if abs, err := filepath.Abs(from); err == nil && abs == live || sameFile(from, live) {
		return nil, fmt.Errorf("restore %s: that is the live database; give a backup made with ipcmesh backup", from)
	}
	return openBackup(from)
}

// openBackup opens a backup read-only and checks that it is an ipcmesh
// store.
func openBackup(path string) (*bolt.DB, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The system's words for it name the file a second time.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("restore %s: %w: give the file ipcmesh backup wrote", path, err)
	case err != nil:
		return nil, fmt.Errorf("restore %s: %w", path, err)
	case fi.IsDir():
		return nil, fmt.Errorf("restore %s: that is a folder; give the file ipcmesh backup wrote", path)
	case fi.Size() == 0:
		// bbolt would try to make a database of it, and fail with an
		// error about file descriptors.
		return nil, fmt.Errorf("restore %s: the file is empty, not a backup made with ipcmesh backup (a copy that did not finish?): give another backup", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("restore %s: it is the database of a store in use (a broker holds it): give a backup made with ipcmesh backup while that broker runs, or stop it first", path)
	}
	if err != nil {
		if cerr := checkBackupFile(path); cerr != nil {
			err = cerr
		}
		return nil, fmt.Errorf("restore %s: it is not a backup made with ipcmesh backup (%w): give the file ipcmesh backup wrote, or another backup", path, err)
	}
	if err := checkBackupFile(path); err != nil {
		db.Close()
		return nil, fmt.Errorf("restore %s: %w; give another backup", path, err)
	}
	err = db.View(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketMeta, bucketMessages, bucketInstances} {
			if tx.Bucket([]byte(name)) == nil {
				return fmt.Errorf("restore %s: it is a database but not an ipcmesh store (no %s bucket): give a backup made with ipcmesh backup", path, name)
			}
		}
		// A backup of a newer build's store would be put in place and
		// then refused by every Open of this build: the mesh would stay
		// down until the restore was undone by hand.
		if v := tablesOf(tx).meta().Get([]byte(metaSchema)); v != nil && seqOf(v) > schemaCollab {
			return newerBackup{path: path, schema: seqOf(v)}
		}
		if root := tx.Bucket([]byte(bucketBackupFiles)); root != nil {
			if err := checkCarried(root); err != nil {
				return fmt.Errorf("restore %s: the large bodies it carries are damaged (%w): give another backup", path, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// setAside moves the damaged database file live into dir's backups/
// folder and returns its new path.
func setAside(live, dir string) (string, error) {
	folder := filepath.Join(dir, "backups")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return "", fmt.Errorf("set the damaged store aside: %w", err)
	}
	path := filepath.Join(folder, "ipcmesh-damaged-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".db")
	if err := os.Rename(live, path); err != nil {
		return "", fmt.Errorf("set the damaged store aside: %w", err)
	}
	// A journal still to replay belongs to the file set aside: it goes
	// with it, and is not replayed onto the restored store.
	if journalPending(dir) {
		if err := os.Rename(filepath.Join(dir, journalFile), path+".journal"); err != nil {
			return "", fmt.Errorf("set the damaged store's send journal aside: %w", err)
		}
	}
	return path, nil
}

// setJournalAside moves a pending journal whose database is gone into
// dir's backups/ folder: it belongs to no store that Restore could keep,
// and must not be replayed onto the restored one.
func setJournalAside(dir string) error {
	folder := filepath.Join(dir, "backups")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return fmt.Errorf("set the send journal aside: %w", err)
	}
	path := filepath.Join(folder, "ipcmesh-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".journal")
	if err := os.Rename(filepath.Join(dir, journalFile), path); err != nil {
		return fmt.Errorf("set the send journal aside: %w", err)
	}
	return nil
}

// keepPrevious backs up the live database into dir's backups/ folder and
// returns the file's path. Like any backup, the copy carries the large
// bodies and large shared values its records name, so it stays whole
// whatever becomes of those files, which no record of the restored store
// names.
func keepPrevious(db *bolt.DB, dir string) (string, error) {
	folder := filepath.Join(dir, "backups")
	if err := os.MkdirAll(folder, 0o700); err != nil {
		return "", fmt.Errorf("keep the store as it was: %w", err)
	}
	path := filepath.Join(folder, "ipcmesh-before-restore-"+time.Now().UTC().Format("20060102T150405.000000000Z")+".db")
	// Written under a partial name, as a backup is: a restore killed
	// meanwhile leaves no file that passes for the store as it was.
	f, err := createPartial(path)
	if err != nil {
		return "", fmt.Errorf("keep the store as it was: %w", err)
	}
	tmp := f.Name()
	var files map[string][]namedFile
	err = db.View(func(tx *bolt.Tx) error {
		if _, err := tx.WriteTo(f); err != nil {
			return err
		}
		files, err = spillNames(tablesOf(tx))
		return err
	})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// A file removed by hand is left out, as a backup leaves it:
		// the store kept lacks it already, and refusing would leave the
		// user with that store and no way to restore another.
		held, _ := present(dir, files)
		err = embedFiles(dir, tmp, held, embedBatch, os.ReadFile)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		// The copy must be found after a crash as surely as the restore
		// that follows it is.
		err = syncDir(folder)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("keep the store as it was in %s: %w", path, err)
	}
	return path, nil
}

// replaceBuckets makes dst's buckets those of src, in one transaction.
func replaceBuckets(dst, src *bolt.DB) error {
	return src.View(func(stx *bolt.Tx) error {
		return dst.Update(func(dtx *bolt.Tx) error {
			var names [][]byte
			if err := dtx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, name)
				return nil
			}); err != nil {
				return err
			}
			for _, name := range names {
				if err := dtx.DeleteBucket(name); err != nil {
					return fmt.Errorf("clear bucket %s: %w", name, err)
				}
			}
			return stx.ForEach(func(name []byte, sb *bolt.Bucket) error {
				db, err := dtx.CreateBucket(name)
				if err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
				if err := copyBucket(db, sb); err != nil {
					return fmt.Errorf("bucket %s: %w", name, err)
				}
				return nil
			})
		})
	})
}

// copyBucket copies src's keys, nested buckets and sequence into dst. The
// keys and values it puts are src's own memory, valid while src's
// transaction is open, which outlasts dst's.
func copyBucket(dst, src *bolt.Bucket) error {
	if err := dst.SetSequence(src.Sequence()); err != nil {
		return err
	}
	return src.ForEach(func(k, v []byte) error {
		// Only a nested bucket has a nil value: a key put with an empty
		// one (the store's index entries) reads back as an empty slice.
		if v != nil {
			return dst.Put(k, v)
		}
		child, err := dst.CreateBucket(k)
		if err != nil {
			return err
		}
		return copyBucket(child, src.Bucket(k))
	})
}
