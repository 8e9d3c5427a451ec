//go:build unix

package election

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// rotate renames the log to path+".1", opens a new one at path and points
// l.f's descriptor (stderr, 2, in a detached broker) at it. Whatever is
// written to that descriptor meanwhile, a crash's trace included, lands
// in the old file, now broker.log.1, or in the new one: none is lost.
func (l *cappedLog) rotate() error {
	// Another broker's start may have rotated the log already (one
	// starting while this one stops): then l.f is broker.log.1 or gone,
	// and the file at path, that broker's, is not renamed again.
	cur, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("rotate the broker's log: %w", err)
	}
	if at, err := os.Stat(l.path); err == nil && os.SameFile(cur, at) {
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return fmt.Errorf("rotate the broker's log: %w", err)
		}
	}
	nf, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("rotate the broker's log: %w", err)
	}
	defer nf.Close()
	for {
		err = unix.Dup2(int(nf.Fd()), int(l.f.Fd()))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		// l.f is still broker.log.1: the next write tries again.
		return fmt.Errorf("rotate the broker's log: point the log's descriptor at the new file: %w", err)
	}
	return nil
}
