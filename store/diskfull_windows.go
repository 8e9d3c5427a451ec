package store

import "syscall"

// platformRoomErrnos are Windows' own errors for a full disk,
// ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL, which the syscall package
// does not map to ENOSPC.
var platformRoomErrnos = []syscall.Errno{39, 112}
