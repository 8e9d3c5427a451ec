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
	dir    string // the folder to free space in: the data folder, or a backup's
	err    error
	backup bool // a backup's copy, which stores nothing: the advice on sends is not for it
}

func (e *fullDiskError) Error() string {
	if e.backup {
		return fmt.Sprintf("the disk is full: free space in %s, then back up again: %v", e.dir, e.err)
	}
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

// Disk is the data folder's file system as the store meets it.
type Disk struct {
	// Free is the room left for this user on the file system that holds
	// the data folder, -1 where the system does not say: a disk that
	// fills refuses sends, and a compact needs about the database file's
	// size beside it.
	Free int64
	// Refused tells the store's writes that the file system refused for
	// want of room or of permission: while no write was taken after
	// them, and for a while after that.
	Refused Refusal
}

// Disk reads the room left on the data folder's file system and the
// writes it refused. It does not read the database, so it
// answers while the store is broken, when a person most needs it: it
// costs a stat of the file system.
func (s *Store) Disk() Disk {
	d := Disk{Free: -1, Refused: s.room.refusal()}
	if n, ok := diskFree(s.dir); ok {
		d.Free = n
	}
	return d
}

// A Refusal is what the store remembers of the writes the file system
// refused in the data folder, for want of room (a full disk, a quota, a
// file size limit) or of permission (a folder made read-only, a file
// system remounted read-only). A store whose writes are refused so is
// otherwise whole: it answers reads, and writes that fit go on (a short
// send after a large body that did not, a send after a large one whose
// folder alone is read-only, the broker's own bookkeeping), so neither
// its state nor the success of some write says that the folder takes
// them again.
type Refusal struct {
	Err   error     // the latest refusal; nil when there is none to tell
	Since time.Time // the first of the refusals that no taken write came between
	Last  time.Time // the latest
	// Taken is when the latest write was taken after the latest refusal;
	// zero while none was.
	Taken time.Time
	// Denied says the latest refusal was for want of permission, not
	// of room: what a person does about it differs.
	Denied bool
}

// refusalKept is how long a refusal is told after writes were taken
// again: long enough for a person who saw a send fail to look, short
// enough that a disk long given room is no longer news. One that no
// taken write followed is told for as long as it stands.
const refusalKept = 10 * time.Minute

// room is the data folder as the store's writes meet it: it says a write
// the file system refused for want of room or of permission in the
// folder's words (noRoom, denied), and remembers the refusals for status.
type room struct {
	dir     string
	now     func() time.Time
	refused atomic.Bool // a refusal is remembered: commits note their time
	mu      sync.Mutex
	r       Refusal
}

// check returns err as noRoom, or else denied, does, noting it if it is
// a refusal. A write whose commit may have stored it all the same keeps
// its own words, which say so, when the file system refused it for want
// of permission.
func (rm *room) check(err error) error {
	if err == nil {
		// Every request's answer passes here, most of them taken.
		return nil
	}
	err = noRoom(rm.dir, err)
	var f *fullDiskError
	var d *deniedError
	full := errors.As(err, &f)
	if !full && !mayBeStored(err) {
		err = denied(rm.dir, err)
	}
	if !full && !errors.As(err, &d) {
		return err
	}
	now := rm.now()
	rm.mu.Lock()
	defer rm.mu.Unlock()
	if rm.r.Err == nil || !rm.r.Taken.IsZero() {
		rm.r.Since = now
	}
	rm.r.Err, rm.r.Denied, rm.r.Last, rm.r.Taken = err, !full, now, time.Time{}
	rm.refused.Store(true)
	return err
}

// taken notes a write that reached the database file. While no refusal
// is remembered it costs an atomic load.
func (rm *room) taken() {
	if !rm.refused.Load() {
		return
	}
	now := rm.now()
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.r.Taken = now
	rm.forgetOld(now)
}

// refusal returns the refusal to tell, if any.
func (rm *room) refusal() Refusal {
	now := rm.now()
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.forgetOld(now)
	return rm.r
}

// forgetOld forgets a refusal that is no longer news at now. rm.mu is
// held.
func (rm *room) forgetOld(now time.Time) {
	if rm.r.Err != nil && !rm.r.Taken.IsZero() && now.Sub(rm.r.Last) > refusalKept {
		rm.r = Refusal{}
		rm.refused.Store(false)
	}
}

// roomErrnos are the errors of a write that found no room. EFBIG is a
// file that would pass the process's file size limit (ulimit -f), which
// leaves the writes that fit as they were, as a full disk does.
var roomErrnos = append([]syscall.Errno{syscall.ENOSPC, syscall.EDQUOT, syscall.EFBIG}, platformRoomErrnos...)
