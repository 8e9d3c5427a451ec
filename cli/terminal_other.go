//go:build !windows

package cli

import "os"

// isTerminal reports whether f is a terminal: a character device.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
