package store

import (
	"errors"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
)

// wrapFault adds what was being done to a fault of the disk or database, but
// returns an *ipcmesh.Error as it is: its message is written for the person
// who must act on it and is sent on the wire as is.
func wrapFault(doing string, err error) error {
	var e *ipcmesh.Error
	if err == nil || errors.As(err, &e) {
		return err
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// isRefusal reports whether err is a refusal for the caller rather than a
// fault: inside a writeFn it is reported, not returned, so it rolls nothing
// back and fails no other request of the batch.
func isRefusal(err error) bool {
	return ipcmesh.CodeOf(err) != ""
}
