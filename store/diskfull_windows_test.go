//go:build windows

package store

import (
	"os"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// TestNoRoomKnowsWindowsErrors: a write Windows refused for want of room,
// on the disk or in the user's quota, is a full disk. Before, a quota
// used up (ERROR_DISK_QUOTA_EXCEEDED) was an internal error: the sender
// heard nothing of the folder to free space in.
func TestNoRoomKnowsWindowsErrors(t *testing.T) {
	for _, errno := range []syscall.Errno{39, 112, 1295} {
		err := &os.PathError{Op: "write", Path: "ipcmesh.db", Err: errno}
		if got := ipcmesh.CodeOf(noRoom("data", err)); got != ipcmesh.CodeUnavailable {
			t.Errorf("a write refused with Windows error %d (%v) is %q, want unavailable", uint32(errno), errno, got)
		}
	}
}
