//go:build !unix

package auth

import "os"

// openNoFollow opens path for reading. This platform has no O_NOFOLLOW, so
// the caller's Lstat is the only guard against a symbolic link; on
// Windows, making one takes a privilege most users do not hold.
func openNoFollow(path string) (*os.File, error) {
	return os.Open(path)
}
