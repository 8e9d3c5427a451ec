package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// A fullDiskError is a write the file system refused for want of room: a
// full disk, a quota, a limit on the size of a file. Said as the error of
// the write that met it ("write ipcmesh.db: no space left on device",
// deep inside a commit's error), it reads as a fault of the broker; it is
// the one fault a person can mend, by freeing space, after which the store
// takes writes again without a restart.
type fullDiskError struct {
	dir string // the folder to free space in: the data folder, or a backup's
	err error
}

func (e *fullDiskError) Error() string {
	return fmt.Sprintf("the disk is full: free space in %s, then make the request again (a send with the same id is stored once): %v", e.dir, e.err)
}

func (e *fullDiskError) Unwrap() error { return e.err }

// As answers a full disk with unavailable: the request was not stored (or
// may be, if its error says so), and the same request made again once
// there is room is what it needs. Answered as internal, it read as a
// fault to report.
func (e *fullDiskError) As(target any) bool {
	t, ok := target.(**ipcmesh.Error)
	if ok {
		*t = &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, Message: e.Error()}
	}
	return ok
}

// noRoom returns err as a fullDiskError of the folder dir when the file
// system refused a write for want of room, and err as it is otherwise.
func noRoom(dir string, err error) error {
	var f *fullDiskError
	if err == nil || errors.As(err, &f) {
		return err
	}
	// bbolt says why it could not grow the file only in words, so the
	// errno is looked for in them too; only there, since other messages
	// may quote what a client sent.
	_, resize, _ := strings.Cut(err.Error(), "file resize error: ")
	for _, errno := range roomErrnos {
		if errors.Is(err, errno) || resize != "" && strings.Contains(resize, errno.Error()) {
			return &fullDiskError{dir: dir, err: err}
		}
	}
	return err
}

// room is the data folder as the store's writes meet it: it says a write
// the file system refused for want of room in the folder's words (noRoom),
// and remembers the first such refusal since a write was last taken. A
// store that refuses a send for a full disk is otherwise whole: it reads,
// and writes that fit still go (a short send after a large body that
// did not), so status said "ok" beside a send that had just failed for
// want of room, and a person freeing space could not see whether it had
// been enough.
type room struct {
	dir     string
	now     func() time.Time
	refused atomic.Bool // spares every commit the lock while writes are taken
	mu      sync.Mutex
	since   time.Time // the first refusal since a write was taken
	last    error     // the latest refusal
}

// check returns err as noRoom does, noting it if it is a refusal.
func (r *room) check(err error) error {
	err = noRoom(r.dir, err)
	var f *fullDiskError
	if !errors.As(err, &f) {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.since.IsZero() {
		r.since = r.now()
	}
	r.last = err
	r.refused.Store(true)
	return err
}

// taken notes a write that reached the database file: room was found.
func (r *room) taken() {
	if !r.refused.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.since, r.last = time.Time{}, nil
	r.refused.Store(false)
}

// refusal returns when the first refusal since a write was taken came,
// and the latest; the zero time and nil while writes are taken.
func (r *room) refusal() (since time.Time, last error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.since, r.last
}

// roomErrnos are the errors of a write that found no room. EFBIG is a
// file that would pass the process's file size limit (ulimit -f), which
// leaves the writes that fit as they were, as a full disk does.
var roomErrnos = append([]syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG}, platformRoomErrnos...)
