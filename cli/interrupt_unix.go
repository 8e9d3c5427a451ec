//go:build unix

package cli

import (
	"os"
	"syscall"
)

// raise sends sig to this process, and reports whether it did.
func raise(sig os.Signal) bool {
	s, ok := sig.(syscall.Signal)
	return ok && syscall.Kill(syscall.Getpid(), s) == nil
}
