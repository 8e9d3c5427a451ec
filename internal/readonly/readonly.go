// Package readonly makes files and folders read-only for the tests of
// what a user meets when the data folder, or something in it, cannot be
// written.
package readonly

import (
	"os"
	"sync"
	"testing"
)

// Folder makes dir read-only until the test ends, and returns a function
// that makes it writable again, for a test that mends what it broke; the
// test's end calls it too, so that its cleanup can remove dir. The mode
// 0500 refuses every user but root; for root, where the file system lets
// it, dir is also made immutable (Linux's chattr +i), which refuses root
// too. Where a file can be made in dir all the same, the test is skipped:
// it could not fail there.
func Folder(tb testing.TB, dir string) (writable func()) {
	tb.Helper()
	return restrict(tb, dir, 0o500, 0o700, makesFileIn)
}

// File is Folder for the file path: mode 0400 until writable is called,
// 0600 after.
func File(tb testing.TB, path string) (writable func()) {
	tb.Helper()
	return restrict(tb, path, 0o400, 0o600, opensForWriting)
}

// restrict gives path mode, and makes it immutable too where canWrite
// finds the mode not enough.
func restrict(tb testing.TB, path string, mode, writableMode os.FileMode, canWrite func(string) bool) func() {
	tb.Helper()
	if err := os.Chmod(path, mode); err != nil {
		tb.Fatal(err)
	}
	undo := func() {}
	if canWrite(path) {
		if u, ok := immutable(path); ok {
			undo = u
		}
	}
	writable := sync.OnceFunc(func() {
		undo()
		os.Chmod(path, writableMode)
	})
	tb.Cleanup(writable)
	if canWrite(path) {
		tb.Skipf("this user writes to %s, of mode %v, and cannot make it immutable (root, or a system without such modes)", path, mode)
	}
	return writable
}

// makesFileIn reports whether a file can be made in dir.
func makesFileIn(dir string) bool {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// opensForWriting reports whether the file path opens for writing.
func opensForWriting(path string) bool {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
