package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
)

// spill writes a large body to its own file in large-messages/ and returns
// the file's base name. It runs before the draft reaches the committer: a
// multi-megabyte write inside the transaction would stall every writer in
// the batch. The name comes only from the clock and random bytes, never from
// the message, so nothing a client sends can steer the path.
func (s *Store) spill(body string) (string, error) {
	return s.spillTo(s.largeDir, body)
}

// spillTo writes body to a new file in dir (large-messages/ or shared/),
// named as spill names it, and returns its base name.
func (s *Store) spillTo(dir, body string) (string, error) {
	name := newSpillName(s.now())
	path := filepath.Join(dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrNotExist) {
		// The folder was removed while the store was open (by someone
		// freeing space on a full disk, say): make it again, durably,
		// rather than fail every large body until the next Open.
		if err = os.MkdirAll(dir, 0o700); err == nil {
			err = syncDir(filepath.Dir(dir))
		}
		if err == nil {
			f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
	}
	if err != nil {
		return "", s.room.check(denied(dir, fmt.Errorf("write large body: %w", err)))
	}
	_, err = f.WriteString(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The file must survive a crash as surely as the record naming it.
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(path)
		return "", s.room.check(denied(dir, fmt.Errorf("write large body to %s: %w", path, err)))
	}
	return name, nil
}

// spillLayout is the time that begins a spill file's name.
const spillLayout = "20060102T150405.000000000Z"

// newSpillName names a spill file made at now: the time, 8 random bytes
// in hex and ".md".
func newSpillName(now time.Time) string {
	var rnd [8]byte
	rand.Read(rnd[:])
	return now.UTC().Format(spillLayout) + "-" + hex.EncodeToString(rnd[:]) + ".md"
}

// isSpillName reports whether name has the form newSpillName gives, so
// that the store removes no file it could not have made.
func isSpillName(name string) bool {
	stamp, rest, ok := strings.Cut(name, "-")
	if !ok || len(stamp) != len(spillLayout) {
		return false
	}
	if _, err := time.Parse(spillLayout, stamp); err != nil {
		return false
	}
	rnd, ok := strings.CutSuffix(rest, ".md")
	if !ok || len(rnd) != 16 {
		return false
	}
	_, err := hex.DecodeString(rnd)
	return err == nil
}

// removeSpilled deletes spill files that no committed record names, once
// no read that may have found them named is under way (see fileGuard).
// Errors are ignored: an orphan file wastes space but loses nothing.
func (s *Store) removeSpilled(names ...string) {
	s.removeFiles(s.largeDir, names...)
}

// fileGuard keeps the spill files that reads may still need from being
// removed under them.
//
// A read finds a file's name in a record and reads the file once its
// transaction has ended; a write that replaces or deletes the record
// meanwhile removes the file after its commit, and the read would find
// the file gone, though what it read was only replaced or swept. So a
// read holds a ticket from before its transaction begins until it has
// read the files, and a removal asked for while tickets are held waits
// until every one of them is given back. A ticket taken after the
// removal was asked for cannot find the name: its transaction begins
// after the commit that dropped it. Nothing waits: the write that asked
// for the removal goes on, and the last of those reads to finish removes
// the file. A file still waiting when the process ends is an orphan for
// the next Open's sweep.
type fileGuard struct {
	mu      sync.Mutex
	next    uint64              // the next ticket
	held    map[uint64]struct{} // the tickets not given back
	waiting []waitingFile
}

// A waitingFile is a removal that waits for the tickets below before.
type waitingFile struct {
	path   string
	before uint64
}

// hold takes a ticket, to give back with release once the files found
// have been read.
func (g *fileGuard) hold() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == nil {
		g.held = make(map[uint64]struct{})
	}
	t := g.next
	g.next++
	g.held[t] = struct{}{}
	return t
}

// release gives ticket t back and removes the files no held ticket waits
// for any more.
func (g *fileGuard) release(t uint64) {
	g.mu.Lock()
	delete(g.held, t)
	var due []string
	if len(g.waiting) > 0 {
		oldest := g.next
		for h := range g.held {
			oldest = min(oldest, h)
		}
		kept := g.waiting[:0]
		for _, w := range g.waiting {
			if w.before <= oldest {
				due = append(due, w.path)
			} else {
				kept = append(kept, w)
			}
		}
		clear(g.waiting[len(kept):])
		g.waiting = kept
	}
	g.mu.Unlock()
	for _, path := range due {
		os.Remove(path)
	}
}

// remove deletes the files at paths, at once if no ticket is held, else
// once every ticket held now is given back. It returns how many it
// removed or left to be removed.
func (g *fileGuard) remove(paths ...string) int {
	g.mu.Lock()
	if len(g.held) > 0 {
		for _, path := range paths {
			g.waiting = append(g.waiting, waitingFile{path: path, before: g.next})
		}
		g.mu.Unlock()
		return len(paths)
	}
	g.mu.Unlock()
	n := 0
	for _, path := range paths {
		if os.Remove(path) == nil {
			n++
		}
	}
	return n
}

// readSpilled returns the whole body kept in a spill file, size bytes
// long.
func (s *Store) readSpilled(name string, size int) (string, error) {
	return s.readPlainFile(s.largeDir, name, size)
}

// readPlainFile reads a spill file the store named in dir, size bytes
// long. The name comes from the store's own record, but a damaged
// database must not be able to make it read elsewhere either; nor may a
// file there that is no longer what the store wrote, though only the
// user (the folder is 0700) can change one: a link is not followed, so
// the broker never hands a peer another file's content as a message, and
// a file cut short or grown is refused rather than passed off as the
// body.
func (s *Store) readPlainFile(dir, name string, size int) (string, error) {
	if !plainName(name) {
		return "", fmt.Errorf("%q: %w", name, errNotPlain)
	}
	path := filepath.Join(dir, name)
	b, err := s.readFile(path)
	if err != nil {
		return "", err
	}
	if len(b) != size {
		return "", fmt.Errorf("%s holds %d bytes, not the %d written there: it was changed since", path, len(b), size)
	}
	return string(b), nil
}

var errNotPlain = errors.New("not a plain file name")

// readRegular reads the regular file at path, and refuses anything else:
// a symbolic link (swapped in before the open or while it was under way),
// a folder, a device or a pipe.
func readRegular(path string) ([]byte, error) {
	li, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !li.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file (%v): ipcmesh reads none but its own", path, li.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !os.SameFile(li, fi) {
		return nil, fmt.Errorf("%s was replaced while it was opened: ipcmesh reads none but its own files", path)
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return b, nil
}

// syncDir makes a new directory entry durable. Windows cannot open a folder
// for syncing, and its file system commits entries with the file.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// plainName reports whether name is a file name and nothing more: no
// folder, no way up. Spill file names come from the store's own records,
// but a damaged database or a doctored backup must not steer a path.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && name == filepath.Base(name) && !strings.ContainsAny(name, `/\:`)
}
