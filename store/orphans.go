package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// orphanGrace is how old a spill file that no record names must be before
// a sweep removes it. A body is written to its file before its record is
// committed, so a young unnamed file may be a send still on its way to the
// disk; an hour is far longer than any commit waits.
const orphanGrace = time.Hour

// orphans is what a Store remembers of its search for orphan files.
//
// A spill file this store writes is named by the record committed after it
// or removed by the code that wrote it, so orphans are files from before
// the store was opened: a broker killed between a spill and its commit
// leaves one. (A commit whose outcome was unknown when it was answered,
// an unsettledError, keeps its files, orphans if it did not stay stored:
// the sweeps after the next Open find them.) Each such file needs
// checking once, when it is past the grace, and after the first hour a
// store has none left to check.
type orphans struct {
	mu sync.Mutex
	// opened is when the store was opened, by its clock.
	opened time.Time
	// checked is how far the search has got: every file modified before
	// it has been checked.
	checked time.Time
}

// sweepOrphans removes the spill files in large-messages/ and shared/ that
// no record names and that were last modified before the store was opened
// and before the grace, and returns how many it removed. It reads the
// folders only while files remain to check, and walks the records (their
// file names only, decoding nothing else) only when a folder holds such a
// file. Files whose names the store could not have made are left alone.
func (s *Store) sweepOrphans() (int, error) {
	o := &s.orphans
	o.mu.Lock()
	defer o.mu.Unlock()
	until := s.now().Add(-orphanGrace)
	if o.opened.Before(until) {
		until = o.opened
	}
	if !o.checked.Before(until) {
		return 0, nil
	}
	suspects := make(map[string]map[string]bool)
	for _, folder := range spillFolders() {
		entries, err := os.ReadDir(filepath.Join(s.dir, folder))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || !isSpillName(e.Name()) {
				continue
			}
			fi, err := e.Info()
			if err != nil {
				continue // removed meanwhile
			}
			if mt := fi.ModTime(); !mt.Before(o.checked) && mt.Before(until) {
				if suspects[folder] == nil {
					suspects[folder] = make(map[string]bool)
				}
				suspects[folder][e.Name()] = true
			}
		}
	}
	if len(suspects) > 0 {
		if err := s.db.View(func(tx *bolt.Tx) error {
			clearNamed(tablesOf(tx), suspects)
			return nil
		}); err != nil {
			return 0, err
		}
	}
	// A read under way may have found a suspect named by a record
	// replaced or deleted since: the guard keeps it until the read is
	// done.
	var paths []string
	for folder, names := range suspects {
		for name := range names {
			paths = append(paths, filepath.Join(s.dir, folder, name))
		}
	}
	n := 0
	if len(paths) > 0 {
		n = s.files.remove(paths...)
	}
	o.checked = until
	return n, nil
}

// clearNamed takes out of suspects, by folder, every file a record of t
// names. A record it cannot read might name any file, so then it takes out
// every suspect of that folder: a file is removed only when it is certain
// that nothing names it.
func clearNamed(t *tables, suspects map[string]map[string]bool) {
	if large := suspects[largeDir]; len(large) > 0 {
		c := t.messages().Cursor()
		for k, v := c.First(); k != nil && len(large) > 0; k, v = c.Next() {
			file, ok := peekFile(v)
			if !ok {
				clear(large)
				break
			}
			// Looking up string(file) does not copy it; only a hit,
			// which is rare, does.
			if len(file) > 0 && large[string(file)] {
				delete(large, string(file))
			}
		}
	}
	if shared := suspects[sharedDir]; len(shared) > 0 {
		err := t.shared().ForEach(func(k, v []byte) error {
			m, _, err := unmarshalShared(string(k), v)
			if err != nil {
				return err
			}
			delete(shared, m.File)
			return nil
		})
		if err != nil {
			clear(shared)
		}
	}
}
