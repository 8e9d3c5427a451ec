//go:build windows

package atomicfile

import (
	"errors"
	"syscall"
)

const (
	errorSharingViolation syscall.Errno = 32
	errorLockViolation    syscall.Errno = 33
)

// busy reports whether err is Windows' word for a file another process
// holds open, or is replacing: access denied (a rename over a file open
// without FILE_SHARE_DELETE, as Go opens every file), or a sharing or
// lock violation.
func busy(err error) bool {
	return errors.Is(err, syscall.ERROR_ACCESS_DENIED) || errors.Is(err, errorSharingViolation) || errors.Is(err, errorLockViolation)
}
