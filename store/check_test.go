package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// damagedFixture writes a store with mail in it, closes it and returns its
// folder and the database file's bytes.
func damagedFixture(t *testing.T, n int) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "alice", "bob")
	drafts := make([]Draft, n)
	for i := range drafts {
		drafts[i] = Draft{ID: fmt.Sprintf("m%d", i), From: "alice", To: "bob", Content: strings.Repeat("x", i%300)}
	}
	if _, err := s.Append(context.Background(), drafts); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, dbFile))
	if err != nil {
		t.Fatal(err)
	}
	return dir, b
}

// wantDamaged opens dir's store and wants it refused as damaged, with an
// error that names the file and the way back.
func wantDamaged(t *testing.T, dir, what string) {
	t.Helper()
	s, err := Open(Options{Dir: dir})
	if err == nil {
		s.Close()
		t.Fatalf("%s: Open succeeded", what)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Fatalf("%s: Open: %v, want an error wrapping ErrDamaged", what, err)
	}
	for _, want := range []string{filepath.Join(dir, dbFile), "ipcmesh restore", "backups/"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: the error %q does not say %q", what, err, want)
		}
	}
}

// TestCheckOfAFileCutShortUnderItsMapping: the check reads a mapping of
// the file, and a page past the end of a file cut short while it runs
// (the lock keeps ipcmesh out, not another program) faults: the check
// says so, and the process goes on.
func TestCheckOfAFileCutShortUnderItsMapping(t *testing.T) {
	dir, b := damagedFixture(t, 2000)
	path := filepath.Join(dir, dbFile)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, unmap, err := mapFile(f, int64(len(b)))
	if err != nil {
		t.Skipf("the file cannot be mapped here: %v", err)
	}
	defer unmap()
	pageSize := os.Getpagesize()
	if err := os.Truncate(path, int64(2*pageSize)); err != nil { // the meta pages stay
		t.Fatal(err)
	}
	c := &checker{r: f, size: int64(len(b)), mapped: m}
	err = c.checkGuarded()
	if err == nil || !strings.Contains(err.Error(), "a fault reading the file") {
		t.Fatalf("the check of a file cut short under its mapping: %v; want it to say it faulted", err)
	}
}

// TestOpenRefusesTruncatedStore: a database cut short (a full disk, a
// copy interrupted) is refused with an error, not a crash of the process.
func TestOpenRefusesTruncatedStore(t *testing.T) {
	dir, whole := damagedFixture(t, 2000)
	for _, size := range []int{8 << 10, 16 << 10, 40 << 10, len(whole) / 4} {
		if err := os.WriteFile(filepath.Join(dir, dbFile), whole[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		wantDamaged(t, dir, fmt.Sprintf("cut to %d of %d bytes", size, len(whole)))
	}
	// The same file whole again opens, with its mail.
	if err := os.WriteFile(filepath.Join(dir, dbFile), whole, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open the whole file: %v", err)
	}
	defer s.Close()
	if got := len(unreadIDs(t, s, "bob")); got != 2000 {
		t.Errorf("bob has %d unread, want 2000", got)
	}
}

// TestOpenSurvivesFlippedBytes flips bytes all over the file, a page and
// a field at a time: Open either opens a store it can read or refuses it
// as damaged; it never panics (a panic in bbolt's own goroutine would end
// the test binary).
func TestOpenSurvivesFlippedBytes(t *testing.T) {
	dir, whole := damagedFixture(t, 500)
	path := filepath.Join(dir, dbFile)
	pageSize := os.Getpagesize()
	refused := 0
	for page := 0; page < len(whole)/pageSize; page++ {
		for _, off := range []int{0, 8, 10, 12, 16, 20, 24, 40, 100, 1000} {
			b := append([]byte(nil), whole...)
			b[page*pageSize+off] ^= 0x5a
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(Options{Dir: dir})
			if err != nil {
				if !errors.Is(err, ErrDamaged) {
					t.Fatalf("page %d byte %d flipped: Open: %v, want an error wrapping ErrDamaged", page, off, err)
				}
				refused++
				continue
			}
			s.Unread("bob", 1<<30)
			s.Close()
		}
	}
	if refused == 0 {
		t.Fatal("no flipped byte was refused")
	}
	t.Logf("%d of %d flips refused", refused, len(whole)/pageSize*10)
}

// TestCheckFileAcceptsBboltFiles: files bbolt wrote, page sizes and inline
// and nested buckets included, pass the check.
func TestCheckFileAcceptsBboltFiles(t *testing.T) {
	for _, pageSize := range []int{1024, 4096, 16384} {
		path := filepath.Join(t.TempDir(), "x.db")
		db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: pageSize, NoFreelistSync: true})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			top, err := tx.CreateBucket([]byte("top"))
			if err != nil {
				return err
			}
			for i := range 3000 {
				if err := top.Put(fmt.Appendf(nil, "k%05d", i), make([]byte, i%(3*pageSize))); err != nil {
					return err
				}
			}
			inner, err := top.CreateBucket([]byte("inline"))
			if err != nil {
				return err
			}
			return inner.Put([]byte("a"), []byte("b"))
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := checkFile(path); err != nil {
			t.Errorf("page size %d: checkFile: %v", pageSize, err)
		}
	}
}

// TestRestoreOverDamagedStore: restore is the way back from a damaged
// store. It sets the damaged file aside as it is and restores the backup;
// a damaged backup is refused, the live store left alone.
func TestRestoreOverDamagedStore(t *testing.T) {
	dir, whole := damagedFixture(t, 300)
	backup := filepath.Join(t.TempDir(), "backup.db")
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backup(backup); err != nil {
		t.Fatal(err)
	}
	s.Close()
	live := filepath.Join(dir, dbFile)
	if err := os.WriteFile(live, whole[:16<<10], 0o600); err != nil {
		t.Fatal(err)
	}

	// A damaged backup is no way back.
	b, err := os.ReadFile(backup)
	if err != nil {
		t.Fatal(err)
	}
	badBackup := filepath.Join(t.TempDir(), "bad.db")
	os.WriteFile(badBackup, b[:16<<10], 0o600)
	if _, err := Restore(dir, badBackup, time.Second); !errors.Is(err, ErrDamaged) {
		t.Fatalf("restore a damaged backup: %v, want an error wrapping ErrDamaged", err)
	}
	wantDamaged(t, dir, "after a damaged backup was refused")

	res, err := Restore(dir, backup, time.Second)
	if err != nil {
		t.Fatalf("restore over a damaged store: %v", err)
	}
	if !res.Damaged || filepath.Dir(res.Previous) != filepath.Join(dir, "backups") {
		t.Errorf("restore result %+v: want the damaged store set aside in backups/", res)
	}
	if kept, err := os.ReadFile(res.Previous); err != nil || len(kept) != 16<<10 {
		t.Errorf("the damaged store set aside: %d bytes (%v), want it as it was", len(kept), err)
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("open the restored store: %v", err)
	}
	defer s.Close()
	if got := len(unreadIDs(t, s, "bob")); got != 300 {
		t.Errorf("bob has %d unread after the restore, want 300", got)
	}
}

// BenchmarkOpen measures what the damage check adds to opening a store,
// which every broker elected pays before it serves: the check alone, and
// a whole Open (bbolt's own walk of every page included) for comparison.
// Two stores: 100,000 short messages, and 20,000 of 9 KB, each on pages
// of its own (a build log pasted into a message), where a check that
// read each page whole read mostly values it does not check.
func BenchmarkOpen(b *testing.B) {
	for _, shape := range []struct {
		name string
		n    int
		body string
	}{
		{"100k-short", 100000, "a message of an ordinary length, a sentence or two long, as assistants send"},
		{"20k-9KB", 20000, strings.Repeat("a line of a long build log\n", 400)[:9000]},
	} {
		b.Run(shape.name, func(b *testing.B) {
			dir := b.TempDir()
			s, err := Open(Options{Dir: dir, NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			register(b, s, "alice", "bob")
			for i := 0; i < shape.n; i += 1000 {
				drafts := make([]Draft, 1000)
				for j := range drafts {
					drafts[j] = Draft{ID: fmt.Sprint(i + j), From: "alice", To: "bob", Content: shape.body}
				}
				if _, err := s.Append(context.Background(), drafts); err != nil {
					b.Fatal(err)
				}
			}
			s.Close()
			path := filepath.Join(dir, dbFile)
			if fi, err := os.Stat(path); err == nil {
				b.Logf("store of %d messages: %d MB", shape.n, fi.Size()>>20)
			}
			b.Run("check", func(b *testing.B) {
				for b.Loop() {
					if err := checkFile(path); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("open", func(b *testing.B) {
				for b.Loop() {
					s, err := Open(Options{Dir: dir})
					if err != nil {
						b.Fatal(err)
					}
					s.Close()
				}
			})
		})
	}
}

// FuzzOpenDamaged opens stores made of arbitrary bytes: Open either serves
// one or refuses it, and never crashes the process. The seeds are a small
// bbolt file (pages of 1 KiB) whole, cut short and with a page's id
// flipped. Shrinking an input of that size takes the fuzzer up to its
// -fuzzminimizetime, a minute by default, for each new one it finds: give
// it 2s for a short run.
func FuzzOpenDamaged(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, dbFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(Options{Dir: dir, NoSync: true})
		if err != nil {
			return
		}
		s.Unread("bob", 100)
		s.Close()
	})
}
