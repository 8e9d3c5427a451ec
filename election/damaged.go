package election

import (
	"errors"
	"os"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
)

// damagedRetry is how long a peer waits, after a broker it started could
// not open the data folder's store because the file is damaged, before it
// starts another one, unless the file changes first (ipcmesh restore puts
// another in its place). A damaged file stays damaged: a broker started
// every second to find that out again only fills the log and the process
// table, while the peer has nothing new to say.
const damagedRetry = 30 * time.Second

// damagedStore is the last time a broker this peer started found the
// store damaged.
type damagedStore struct {
	err  error       // why the broker could not serve, said again meanwhile
	at   time.Time   // when it said so
	file os.FileInfo // the database file then, nil if it could not be read
}

// stillDamaged returns why the last broker this peer started could not
// open the store, if it found the file damaged less than damagedRetry ago
// and the file has not changed since; nil if a broker is worth starting.
func (p *Peer) stillDamaged() error {
	p.mu.Lock()
	d := p.damaged
	p.mu.Unlock()
	if d == nil || d.file == nil || time.Since(d.at) >= damagedRetry {
		return nil
	}
	fi, err := os.Stat(store.DatabasePath(p.cfg.DataDir))
	if err != nil || !sameFile(d.file, fi) {
		return nil
	}
	return d.err
}

// noteHosted remembers err, the outcome of an attempt to host the broker,
// if the store was damaged, and forgets an earlier damage otherwise.
func (p *Peer) noteHosted(err error) {
	var d *damagedStore
	if errors.Is(err, store.ErrDamaged) {
		fi, _ := os.Stat(store.DatabasePath(p.cfg.DataDir))
		d = &damagedStore{err: err, at: time.Now(), file: fi}
	}
	p.mu.Lock()
	p.damaged = d
	p.mu.Unlock()
}

// sameFile reports whether b is the file a was, unchanged: the same file,
// not one put in its place, with the same size and time of change.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// reportedError is an error a detached broker reported in words, which
// keeps the kind of error it was (Unwrap) for the peer to act on.
type reportedError struct {
	msg  string
	kind error
}

func (e *reportedError) Error() string { return e.msg }
func (e *reportedError) Unwrap() error { return e.kind }
