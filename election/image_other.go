//go:build !linux

package election

// runningImage is Linux's way to run a program whose file is gone: other
// systems have none, and a detached broker starts only from its file.
func runningImage(string) (string, bool) { return "", false }
