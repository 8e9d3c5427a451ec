package store

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"

	"github.com/ipcmesh/ipcmesh"
)

// A deniedError is a write the file system refused for want of permission
// in the data folder: a folder or file made read-only (chmod, a copy
// restored with other modes or owner) or a file system mounted read-only. Said as
// the write's own error behind "the broker failed", it read as a fault of
// the broker; it is one a person mends, by making the folder writable
// again, after which the same request succeeds without a restart.
type deniedError struct {
	dir string // the folder to make writable
	err error
}

func (e *deniedError) Error() string {
	return fmt.Sprintf("cannot write in %s: make it and its files writable for the user ipcmesh runs as (and its file system read-write), then make the request again: %v", e.dir, e.err)
}

func (e *deniedError) Unwrap() error { return e.err }

// As answers a denied write with unavailable, as a full disk is answered:
// nothing was stored, and the same request made again once the folder is
// writable is what it needs.
func (e *deniedError) As(target any) bool {
	t, ok := target.(**ipcmesh.Error)
	if ok {
		*t = &ipcmesh.Error{Code: ipcmesh.CodeUnavailable, Message: e.Error()}
	}
	return ok
}

// denied returns err as a deniedError of the folder dir when the file
// system refused a write in it for want of permission, and err as it is
// otherwise, or when it already names its folder.
func denied(dir string, err error) error {
	var d *deniedError
	if Unwritable(err) && !errors.As(err, &d) {
		return &deniedError{dir: dir, err: err}
	}
	return err
}

// Unwritable reports whether err is the file system refusing a write for
// want of permission: a file or folder made read-only, or a file system
// mounted read-only. Root meets it too, for a file or folder marked
// immutable (EPERM).
func Unwritable(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}
