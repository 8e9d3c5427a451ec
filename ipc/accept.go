package ipc

import (
	"errors"
	"net"
	"syscall"
)

// temporary reports whether a failed accept may succeed if tried again:
// the process or the system is short of descriptors, buffers or memory for
// the moment, or a connection failed while it waited to be accepted (Linux
// reports the network errors of a pending connection from accept, and
// asks that they be treated like EAGAIN).
func temporary(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	switch errno {
	case syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN,
		syscall.EPROTO, syscall.ENETDOWN, syscall.ENETUNREACH, syscall.EHOSTDOWN,
		syscall.EHOSTUNREACH, syscall.ENOPROTOOPT, syscall.EOPNOTSUPP, syscall.EPERM:
		return true
	}
	return temporaryErrno(errno)
}
