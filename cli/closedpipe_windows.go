//go:build windows

package cli

import (
	"errors"
	"syscall"

	"golang.org/x/sys/windows"
)

// pipeClosed reports whether err is a write's to a pipe whose reader has
// closed it. Windows words it three ways: ERROR_NO_DATA ("the pipe is
// being closed") for an anonymous pipe whose read end was closed,
// ERROR_BROKEN_PIPE, and ERROR_PIPE_NOT_CONNECTED for a named pipe whose
// other end left (wine gives it too, for a Unix pipe whose reader exited).
func pipeClosed(err error) bool {
	return errors.Is(err, windows.ERROR_NO_DATA) ||
		errors.Is(err, syscall.ERROR_BROKEN_PIPE) ||
		errors.Is(err, windows.ERROR_PIPE_NOT_CONNECTED)
}
