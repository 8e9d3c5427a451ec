//go:build windows

package election

import (
	"fmt"
	"io"
	"os"
)

// rotate copies the log to path+".1" and empties it. Windows renames no
// file that a process holds open, and this one is held as the broker's
// stderr (and the runtime writes a crash's trace to the handle it holds
// there): it stays the one file, which the broker's writes, appended,
// start again at its start. What another process, or the runtime, writes
// to it between the copy and the truncation is lost, a window of one
// call.
func (l *cappedLog) rotate() error {
	src, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("rotate the broker's log: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(l.path+".1", os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("rotate the broker's log: %w", err)
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("rotate the broker's log: copy it to %s: %w", l.path+".1", err)
	}
	// l.f is open for appending only, which cannot truncate: a handle of
	// its own can, as l.f shares writing.
	if err := os.Truncate(l.path, 0); err != nil {
		return fmt.Errorf("rotate the broker's log: %w", err)
	}
	return nil
}
