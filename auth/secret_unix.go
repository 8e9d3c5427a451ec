//go:build unix

package auth

import (
	"os"
	"syscall"
)

// openNoFollow opens path for reading unless it is a symbolic link, which
// O_NOFOLLOW makes the open itself refuse, so a link swapped in after the
// caller's check is not followed either.
func openNoFollow(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
