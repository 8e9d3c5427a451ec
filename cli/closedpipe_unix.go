//go:build unix

package cli

import (
	"errors"
	"syscall"
)

// pipeClosed reports whether err is a write's to a pipe or socket whose
// reader has closed it. The runtime raises SIGPIPE for stdout and stderr
// before the error gets here, unless the write was to another descriptor
// (an Env's own pipe).
func pipeClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE)
}
