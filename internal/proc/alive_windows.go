//go:build windows

package proc

import (
	"errors"
	"math"
	"syscall"
)

// Alive reports whether a process with this pid exists: it can be
// opened and has not exited. One that may not be opened (another user's,
// or a protected one) exists all the same, as EPERM means on Unix.
//
// Whether it has exited is asked of the process object, which is
// signalled when it ends, not read from its exit code: a process that
// ended with code 259 has STILL_ACTIVE for its code, and its pid stays
// while any process holds a handle to it.
func Alive(pid int) bool {
	const (
		processQueryLimitedInformation = 0x1000
		waitTimeout                    = 0x102 // WAIT_TIMEOUT
	)
	// A pid is 32 bits: a larger one, from a damaged record, would be
	// read as another process's.
	if pid <= 0 || uint64(pid) > math.MaxUint32 {
		return false
	}
	h, err := syscall.OpenProcess(processQueryLimitedInformation|syscall.SYNCHRONIZE, false, uint32(pid))
	if errors.Is(err, syscall.ERROR_ACCESS_DENIED) {
		return true
	}
	if err != nil {
		return false
	}
	defer syscall.CloseHandle(h)
	ev, err := syscall.WaitForSingleObject(h, 0)
	return err == nil && ev == waitTimeout
}
