package store

import "syscall"

// platformRoomErrnos are Windows' own errors for a write that found no
// room, which the syscall package does not map to ENOSPC or EDQUOT:
// ERROR_HANDLE_DISK_FULL and ERROR_DISK_FULL, and
// ERROR_DISK_QUOTA_EXCEEDED, the user's NTFS quota used up, which leaves
// the writes that fit as a full disk does.
var platformRoomErrnos = []syscall.Errno{39, 112, 1295}
