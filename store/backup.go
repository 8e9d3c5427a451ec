package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	bolt "go.etcd.io/bbolt"
)

// A backup is one file: a copy of the database that also carries the spill
// files its records name, in the bucket bucketBackupFiles (one sub-bucket
// per folder, file name to content). Opening a backup as a store (Open,
// after Restore or after copying it in as ipcmesh.db) writes those files
// back into the data folder and drops the bucket, so every large body and
// large shared value survives the round trip.
const bucketBackupFiles = "backup-files"

// spillFolders returns the folders whose files a backup carries, by the
// name of their sub-bucket in bucketBackupFiles (the folder's own name).
func spillFolders() []string { return []string{largeDir, sharedDir} }

// Backup writes a consistent copy of the store to path while the store
// keeps serving: the database is copied inside one read transaction, so
// writers are not held up, and the spill files that copy names are added to
// it after. It is written 0600 to a temporary file beside path and renamed
// into place, so path never holds half a backup.
func (s *Store) Backup(path string) error {
	return s.backup(path, embedBatch)
}

// backup is Backup, adding files to the copy batch bytes at a time.
func (s *Store) backup(path string, batch int) error {
	if abs, err := filepath.Abs(path); err == nil && abs == filepath.Join(s.dir, dbFile) {
		return fmt.Errorf("backup to %s: that is the live database; back up to another file", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	tmp := f.Name()
	var files map[string][]string
	err = f.Chmod(0o600)
	if err == nil {
		err = s.view(func(tx *bolt.Tx) error {
			if _, err := tx.WriteTo(f); err != nil {
				return err
			}
			files, err = spillNames(tablesOf(tx))
			return err
		})
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = embedFiles(s.dir, tmp, files, batch, s.readFile)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// spillNames lists the spill files the records of t name, by folder. A
// database that was never opened as a store (a fresh file) has no
// buckets, and names none.
func spillNames(t *tables) (map[string][]string, error) {
	files := make(map[string][]string)
	if t.messages() == nil || t.shared() == nil {
		return files, nil
	}
	err := t.messages().ForEach(func(k, v []byte) error {
		rec, err := unmarshalRecord(v)
		if err != nil {
			return fmt.Errorf("message %x: %w", k, err)
		}
		if rec.File != "" {
			files[largeDir] = append(files[largeDir], rec.File)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = t.shared().ForEach(func(k, v []byte) error {
		m, _, err := unmarshalShared(string(k), v)
		if err == nil && m.File != "" {
			files[sharedDir] = append(files[sharedDir], m.File)
		}
		return err
	})
	return files, err
}

// embedFiles adds the named spill files of the data folder dir, as read
// reads them, to the database copy at path, in transactions of about batch
// bytes, so that a store with many large bodies is not held in memory at
// once. A file that
// is gone was swept after the copy was taken, with the record that named
// it; the live store has lost nothing, and the backup keeps the record as
// the live store had it a moment before.
func embedFiles(dir, path string, files map[string][]string, batch int, read func(string) ([]byte, error)) error {
	if len(files) == 0 {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	type file struct{ folder, name string }
	var todo []file
	for _, folder := range spillFolders() {
		for _, name := range files[folder] {
			todo = append(todo, file{folder, name})
		}
	}
	for len(todo) > 0 && err == nil {
		err = db.Update(func(tx *bolt.Tx) error {
			root, err := tx.CreateBucketIfNotExists([]byte(bucketBackupFiles))
			if err != nil {
				return err
			}
			for size := 0; len(todo) > 0 && size < batch; todo = todo[1:] {
				f := todo[0]
				body, err := read(filepath.Join(dir, f.folder, f.name))
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					return err
				}
				b, err := root.CreateBucketIfNotExists([]byte(f.folder))
				if err != nil {
					return err
				}
				if err := b.Put([]byte(f.name), body); err != nil {
					return err
				}
				size += len(body)
			}
			return nil
		})
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("add the large bodies to the copy: %w", err)
	}
	return nil
}

// embedBatch is about how many bytes of files one transaction of a backup
// adds.
const embedBatch = 64 << 20

// unpackFiles writes the spill files a backup carries into the data folder
// dir and drops them from the database. It runs when a store is opened; a
// crash in between leaves the bucket, and the next open writes the files
// again.
func unpackFiles(db *bolt.DB, dir string) error {
	var found bool
	err := db.View(func(tx *bolt.Tx) error {
		root := tx.Bucket([]byte(bucketBackupFiles))
		if root == nil {
			return nil
		}
		found = true
		for _, folder := range spillFolders() {
			b := root.Bucket([]byte(folder))
			if b == nil {
				continue
			}
			err := b.ForEach(func(k, v []byte) error {
				name := string(k)
				if !plainName(name) {
					return fmt.Errorf("%s file name %q is not a plain file name", folder, name)
				}
				return atomicfile.Write(filepath.Join(dir, folder, name), v, 0o600)
			})
			if err != nil {
				return err
			}
			if err := syncDir(filepath.Join(dir, folder)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || !found {
		return err
	}
	return db.Update(func(tx *bolt.Tx) error {
		return tx.DeleteBucket([]byte(bucketBackupFiles))
	})
}
