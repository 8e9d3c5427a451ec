package election

import (
	"errors"
	"io/fs"
	"os"
)

// runningImage returns a path that starts the program this process runs,
// when path was that program's file and no longer exists: an upgrade or
// an uninstall removed it while the process ran. Linux keeps the image of
// a running program, and /proc/self/exe execs it. A path that exists is
// left as it is, whatever it holds now: an upgrade put there is what the
// user wants to run.
func runningImage(path string) (string, bool) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return "", false
	}
	self, err := os.Readlink("/proc/self/exe")
	if err != nil || self != path+" (deleted)" {
		return "", false
	}
	return "/proc/self/exe", true
}
