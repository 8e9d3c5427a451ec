//go:build !windows

package cli

import (
	"os"

	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal. A character device is not
// enough: the null device is one, and a command given </dev/null, as an
// assistant runs commands, would be taken for typed at.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}
