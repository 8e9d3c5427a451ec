package readonly

import (
	"os"

	"golang.org/x/sys/unix"
)

// fsImmutable is FS_IMMUTABLE_FL of linux/fs.h: a file so marked cannot
// be written, nor an entry of a folder so marked made, removed or
// renamed, by root either.
const fsImmutable = 0x10

// immutable marks path immutable and returns the function that unmarks it;
// ok is false where the file system or the user cannot (tmpfs, a user
// without CAP_LINUX_IMMUTABLE).
func immutable(path string) (undo func(), ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return nil, false
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags|fsImmutable)); err != nil {
		return nil, false
	}
	return func() {
		f, err := os.Open(path)
		if err != nil {
			return
		}
		defer f.Close()
		unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags&^fsImmutable))
	}, true
}
