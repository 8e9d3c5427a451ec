//go:build !windows

package store

import "syscall"

// platformRoomErrnos: elsewhere the errnos of roomErrnos are the system's
// own.
var platformRoomErrnos []syscall.Errno
