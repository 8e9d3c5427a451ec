package cli

import (
	"errors"
	"io"
	"io/fs"
	"os"
)

// readerGoneStatus is the exit status of a command whose output's reader
// went away: 128 plus SIGPIPE's number (13), which a shell reports for a
// program that SIGPIPE ended. On unix the Go runtime ends a program so
// when its write to stdout or stderr finds the pipe closed; Windows has no
// SIGPIPE, and the write fails instead. Both end alike, so that a script
// run with `set -o pipefail` sees one status on every system.
const readerGoneStatus = 128 + 13

// readerGone reports whether err is a write to e's stdout or stderr that
// failed because nothing reads it any more: `ipcmesh list | head -1`,
// where head exits once it has its line. That is no failure to report,
// as the shell's own commands report none. Only a write to those very
// files counts: a full disk under a redirected stdout, or a pipe of the
// command's own that broke, is still an error to say.
func readerGone(e Env, err error) bool {
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Op != "write" || !pipeClosed(pe.Err) {
		return false
	}
	for _, w := range []io.Writer{e.Stdout, e.Stderr} {
		if f, ok := w.(*os.File); ok && f.Name() == pe.Path {
			return true
		}
	}
	return false
}
