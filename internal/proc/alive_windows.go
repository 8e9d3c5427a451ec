//go:build windows

package proc

import (
	"errors"
	"syscall"
)

// Alive reports whether a process with this pid exists: it can be
// opened and has not exited. One that may not be opened (another user's,
// or a protected one) exists all the same, as EPERM means on Unix.
func Alive(pid int) bool {
	const processQueryLimitedInformation = 0x1000
	const stillActive = 259
	h, err := syscall.OpenProcess(processQueryLimitedInformation, false, uint32(pid))
	if errors.Is(err, syscall.ERROR_ACCESS_DENIED) {
		return true
	}
	if err != nil {
		return false
	}
	defer syscall.CloseHandle(h)
	var code uint32
	if err := syscall.GetExitCodeProcess(h, &code); err != nil {
		return false
	}
	return code == stillActive
}
