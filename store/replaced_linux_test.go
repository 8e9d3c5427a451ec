package store

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// descriptorsOf counts this process's open descriptors of the file at
// path.
func descriptorsOf(t *testing.T, path string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	n := 0
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == path {
			n++
		}
	}
	return n
}

// A broker that opens the data folder while a compact or a restore holds
// it waits for the lock of the file it opened, which is then replaced with
// another. Once it has the lock, it must serve the file now in the folder:
// before, it served the one that had been unlinked, and every send it
// acked was gone once it closed.
func TestOpenWhileTheFileIsReplaced(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	send(t, s, "before", "alice", "bob", "stored before the file was replaced")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// A compact's side, step by step: the file locked, a copy written.
	path := filepath.Join(dir, dbFile)
	src, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".copy")
	if err := src.View(func(tx *bolt.Tx) error { return tx.CopyFile(tmp, 0o600) }); err != nil {
		t.Fatal(err)
	}

	type opened struct {
		s   *Store
		err error
	}
	done := make(chan opened, 1)
	go func() {
		s, err := Open(Options{Dir: dir, LockTimeout: time.Minute})
		done <- opened{s, err}
	}()
	// The broker has the file open and waits for its lock.
	deadline := time.Now().Add(time.Minute)
	for descriptorsOf(t, path) < 2 {
		if time.Now().After(deadline) {
			t.Fatal("Open never opened the database file")
		}
		time.Sleep(time.Millisecond)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	src.Close()

	o := <-done
	if o.err != nil {
		t.Fatal(o.err)
	}
	send(t, o.s, "after", "alice", "bob", "acked by the broker that waited")
	if err := o.s.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range []string{"before", "after"} {
		if _, found, err := r.Lookup(id); !found || err != nil {
			t.Errorf("message %s after the broker that waited closed: found %v, %v", id, found, err)
		}
	}
}
