package store

import (
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the database to path while the store
// keeps serving: the copy is taken inside one read transaction, so writers
// are not held up. It is written 0600 to a temporary file beside path and
// renamed into place, so path never holds half a copy. Spill files in
// large-messages/ and shared/ are not included: copy those folders too to
// keep the bodies of large messages and large shared values.
func (s *Store) Backup(path string) error {
	if abs, err := filepath.Abs(path); err == nil && abs == filepath.Join(s.dir, dbFile) {
		return fmt.Errorf("backup to %s: that is the live database; back up to another file", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		err = s.db.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(f)
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
