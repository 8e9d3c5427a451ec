package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A store that a newer ipcmesh marked with a later schema is refused by
// Open, in words that say what to do, and left as it was: an older build
// run again after a downgrade must not write what the newer one would
// then read wrong.
func TestOpenRefusesANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "alice", "bob")
	send(t, s, "m1", "alice", "bob", "mail kept through the downgrade")
	s.Close()
	// Mark it as the next schema's build would.
	path := filepath.Join(dir, dbFile)
	setSchema := func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			return tablesOf(tx).meta().Put([]byte(metaSchema), seqKey(schemaCollab+1))
		})
	}
	if err := withBolt(path, setSchema); err != nil {
		t.Fatal(err)
	}

	s, err = Open(Options{Dir: dir})
	if err == nil {
		s.Close()
		t.Fatal("Open took a store of a newer schema")
	}
	if !errors.Is(err, ErrNewerStore) {
		t.Errorf("Open: %v, want ErrNewerStore", err)
	}
	for _, w := range []string{"newer ipcmesh", "schema is 3", "up to 2", "ipcmesh restore"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Open: %q does not say %q", err, w)
		}
	}
	err = withBolt(path, func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			tb := tablesOf(tx)
			if got := seqOf(tb.meta().Get([]byte(metaSchema))); got != schemaCollab+1 {
				t.Errorf("the refused store's schema is %d now, want %d", got, schemaCollab+1)
			}
			if tb.ids().Get([]byte("m1")) == nil {
				t.Error("the refused store lost message m1")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// withBolt runs fn on the bbolt database at path, as a newer build or a
// check of the file would open it.
func withBolt(path string, fn func(*bolt.DB) error) error {
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	if err := fn(db); err != nil {
		db.Close()
		return err
	}
	return db.Close()
}

// A backup of a store that a newer ipcmesh marked with a later schema is
// refused by Restore before it replaces anything: put in place, it would
// be refused by every Open of this build, and the mesh would stay down
// until the restore was undone by hand.
func TestRestoreRefusesABackupOfANewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "alice", "bob")
	send(t, s, "m1", "alice", "bob", "mail of this build's store")
	backup := filepath.Join(t.TempDir(), "newer.db")
	if _, err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	err = withBolt(backup, func(db *bolt.DB) error {
		return db.Update(func(tx *bolt.Tx) error {
			return tablesOf(tx).meta().Put([]byte(metaSchema), seqKey(schemaCollab+1))
		})
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := CheckBackup(dir, backup); !errors.Is(err, ErrNewerStore) {
		t.Errorf("CheckBackup of a newer build's backup: %v, want ErrNewerStore", err)
	}
	_, err = Restore(dir, backup, time.Second)
	if !errors.Is(err, ErrNewerStore) {
		t.Fatalf("Restore of a newer build's backup: %v, want ErrNewerStore", err)
	}
	for _, w := range []string{backup, "the backup was written by a newer ipcmesh", "schema is 3", "up to 2", "nothing was changed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Restore: %q does not say %q", err, w)
		}
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("the store after the refused restore does not open: %v", err)
	}
	defer s.Close()
	if _, found, _ := s.Lookup("m1"); !found {
		t.Error("the refused restore lost message m1")
	}
}
