package ipc

import "syscall"

// temporaryErrno covers the Winsock spellings of the errors temporary
// knows; syscall names only some of them.
func temporaryErrno(errno syscall.Errno) bool {
	const (
		wsaemfile   = 10024
		wsaenobufs  = 10055
		wsaenetdown = 10050
	)
	switch errno {
	case wsaemfile, wsaenobufs, wsaenetdown, syscall.WSAECONNABORTED, syscall.WSAECONNRESET:
		return true
	}
	return false
}
