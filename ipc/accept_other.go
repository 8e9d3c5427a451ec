//go:build !windows

package ipc

import "syscall"

// temporaryErrno: temporary's list is complete here.
func temporaryErrno(syscall.Errno) bool { return false }
