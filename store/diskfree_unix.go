//go:build linux || darwin || freebsd || dragonfly

package store

import "golang.org/x/sys/unix"

// diskFree returns the bytes left for this user on the file system that
// holds dir, and whether the system said.
func diskFree(dir string) (int64, bool) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return int64(st.Bavail) * int64(st.Bsize), true
}
