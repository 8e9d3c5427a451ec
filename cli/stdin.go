package cli

import (
	"fmt"
	"os"
	"runtime"
)

// tellTerminalInput says on stderr, when stdin is a terminal, that what
// the command reads from it is typed there and how to end it: `ipcmesh
// send reviewer -` or `ipcmesh share notes` typed without a pipe waits
// for input it never asked for, and looks hung.
func tellTerminalInput(e Env, what string) {
	f, ok := e.Stdin.(*os.File)
	if !ok || !isTerminal(f) {
		return
	}
	end := "Ctrl-D at the start of a line"
	if runtime.GOOS == "windows" {
		end = "Ctrl-Z, then Enter"
	}
	fmt.Fprintf(e.Stderr, "type %s, and end it with %s (Ctrl-C cancels)\n", what, end)
}
