package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
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
// it after; a file whose record is replaced or swept meanwhile stays until
// the backup has read it (see fileGuard). A file the copy names that is
// missing from the data folder was removed by hand (no write of the store
// removes one a record names): the copy leaves it out, as the store lacks
// it already, and Backup returns it in missing, as folder/name and the
// record that names it. Refusing the backup for it kept every backup,
// the broker's copies in cluster mode too, from being made until the
// record was swept, for a loss no backup can undo. The backup is written
// 0600 to a hidden partial file beside path and renamed into place, so
// path never holds half a backup; one that a broker killed meanwhile
// leaves in the data folder's backups/ is removed when the store is next
// opened (removePartial).
func (s *Store) Backup(path string) (missing []string, err error) {
	return s.backup(path, embedBatch)
}

// backup is Backup, adding files to the copy batch bytes at a time.
func (s *Store) backup(path string, batch int) (missing []string, err error) {
	if abs, err := filepath.Abs(path); err == nil && abs == filepath.Join(s.dir, dbFile) {
		return nil, fmt.Errorf("backup to %s: that is the live database; back up to another file", path)
	}
	dir := filepath.Dir(path)
	f, err := createPartial(path)
	if err != nil {
		return nil, backupNoRoom(dir, denied(dir, fmt.Errorf("backup to %s: %w", path, err)))
	}
	tmp := f.Name()
	// Every file the copy names is kept until it is read, whatever becomes
	// of its record.
	ticket := s.files.hold()
	defer s.files.release(ticket)
	var files map[string][]namedFile
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
		var held map[string][]namedFile
		held, missing = present(s.dir, files)
		err = embedFiles(s.dir, tmp, held, batch, s.readFile)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		return nil, backupNoRoom(dir, fmt.Errorf("backup to %s: %w", path, err))
	}
	return missing, nil
}

// backupNoRoom is noRoom for the copy a backup writes in dir.
func backupNoRoom(dir string, err error) error {
	err = noRoom(dir, err)
	if f, ok := err.(*fullDiskError); ok {
		f.backup = true
	}
	return err
}

// partialSuffix ends the name of a backup being written, beside the name
// it is renamed to once whole.
const partialSuffix = ".partial"

// createPartial creates the file that a backup to path is written to
// first, hidden and named as removePartial expects.
func createPartial(path string) (*os.File, error) {
	return os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*"+partialSuffix)
}

// removePartial removes from the data folder dir's backups/ what a process
// killed while writing a backup there left: a partial copy of the store,
// the size of a whole one, that nothing else would ever remove. It runs
// when the store is opened: only the holder of the store's lock writes
// backups there (the broker, restore keeping the store it replaces), so
// none is being written then. Errors are ignored: what is left wastes
// space and loses nothing.
func removePartial(dir string) {
	folder := filepath.Join(dir, "backups")
	entries, err := os.ReadDir(folder)
	if err != nil {
		return
	}
	for _, e := range entries {
		if name := e.Name(); e.Type().IsRegular() && strings.HasPrefix(name, ".") && strings.HasSuffix(name, partialSuffix) {
			os.Remove(filepath.Join(folder, name))
		}
	}
}

// A namedFile is a spill file that a record names.
type namedFile struct {
	name   string // the file's name in its folder
	record string // which record names it: message "id" or shared key "key"
	size   int    // the bytes the store wrote there, as the record says
}

// spillNames lists the spill files the records of t name, by folder. A
// database that was never opened as a store (a fresh file) has no
// buckets, and names none.
func spillNames(t *tables) (map[string][]namedFile, error) {
	files := make(map[string][]namedFile)
	if t.messages() == nil || t.shared() == nil {
		return files, nil
	}
	err := t.messages().ForEach(func(k, v []byte) error {
		rec, err := unmarshalRecord(v)
		if err != nil {
			return fmt.Errorf("message %x: %w", k, err)
		}
		if rec.File != "" {
			files[largeDir] = append(files[largeDir], namedFile{rec.File, fmt.Sprintf("message %q", rec.ID), rec.Size})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = t.shared().ForEach(func(k, v []byte) error {
		m, _, err := unmarshalShared(string(k), v)
		if err == nil && m.File != "" {
			files[sharedDir] = append(files[sharedDir], namedFile{m.File, fmt.Sprintf("shared key %q", k), m.Size})
		}
		return err
	})
	return files, err
}

// present returns the files of files that the data folder dir holds as
// the store wrote them, and the others, as folder/name with the record
// that names each and what became of the file. A file is missing, or of
// another size, only when removed or changed by hand: no write of the
// store removes or rewrites one a record names, nor one a backup under
// way has still to read. The store refuses to read a file of another
// size as its body (readPlainFile), so the copy leaves it out too, as
// lost, rather than carry into a restored store what it would refuse.
func present(dir string, files map[string][]namedFile) (held map[string][]namedFile, missing []string) {
	held = make(map[string][]namedFile, len(files))
	for _, folder := range spillFolders() {
		for _, f := range files[folder] {
			fi, err := os.Lstat(filepath.Join(dir, folder, f.name))
			switch {
			case errors.Is(err, fs.ErrNotExist):
				missing = append(missing, fmt.Sprintf("%s (%s, removed)", filepath.Join(folder, f.name), f.record))
				continue
			case err == nil && fi.Mode().IsRegular() && fi.Size() != int64(f.size):
				missing = append(missing, fmt.Sprintf("%s (%s, changed: %d bytes, not the %d written there)", filepath.Join(folder, f.name), f.record, fi.Size(), f.size))
				continue
			}
			held[folder] = append(held[folder], f)
		}
	}
	return held, missing
}

// embedFiles adds the named spill files of the data folder dir, as read
// reads them, to the database copy at path, in transactions of about batch
// bytes, so that a store with many large bodies is not held in memory at
// once. A file it cannot read fails it: the copy names every file.
func embedFiles(dir, path string, files map[string][]namedFile, batch int, read func(string) ([]byte, error)) error {
	if len(files) == 0 {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return fmt.Errorf("open the copy: %w", err)
	}
	type file struct {
		folder string
		namedFile
	}
	var todo []file
	for _, folder := range spillFolders() {
		for _, f := range files[folder] {
			todo = append(todo, file{folder, f})
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
				if err != nil {
					return fmt.Errorf("%s: %w", f.record, err)
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
		// Every name is checked before any file is written, so that a
		// doctored backup writes nothing at all.
		if err := checkCarried(root); err != nil {
			return err
		}
		for _, folder := range spillFolders() {
			b := root.Bucket([]byte(folder))
			if b == nil {
				continue
			}
			err := b.ForEach(func(k, v []byte) error {
				return atomicfile.Write(filepath.Join(dir, folder, string(k)), v, 0o600)
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

// checkCarried checks the files a backup carries, root being its
// bucketBackupFiles: each must be a plain file name with content, which
// Open can write into its folder. Restore checks them before it replaces
// anything: a store whose files Open refuses to write out could not be
// opened at all.
func checkCarried(root *bolt.Bucket) error {
	for _, folder := range spillFolders() {
		b := root.Bucket([]byte(folder))
		if b == nil {
			continue
		}
		err := b.ForEach(func(k, v []byte) error {
			if !plainName(string(k)) {
				return fmt.Errorf("%s file name %q is not a plain file name", folder, k)
			}
			if v == nil {
				return fmt.Errorf("%s file %q is a bucket, not a file's content", folder, k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
