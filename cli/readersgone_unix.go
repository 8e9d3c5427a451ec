//go:build unix

package cli

import (
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readersGone returns a channel that is closed once nothing reads any of
// outs any more: the assistant that runs a hook holds the other end of its
// stdout and stderr pipes, and its process exiting closes them. A hook that
// waits in the background (Claude Code's Stop hook with asyncRewake)
// outlives the session that started it otherwise, and while it waits it
// holds the name: senders hear the name is online, and the next session's
// MCP server cannot register it for up to the hook's --timeout. Only pipes,
// sockets and terminals are watched; with none of them, the channel is nil
// and never ready. stop ends the watch.
func readersGone(outs ...io.Writer) (gone <-chan struct{}, stop func()) {
	var fds []unix.PollFd
	for _, w := range outs {
		f, ok := w.(*os.File)
		if !ok {
			continue
		}
		fi, err := f.Stat()
		if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket|os.ModeCharDevice) == 0 {
			continue
		}
		// Asked for no events, poll reports only the ones it always does:
		// POLLERR on a pipe whose reader is gone, POLLHUP on a socket or
		// terminal that hung up.
		fds = append(fds, unix.PollFd{Fd: int32(f.Fd())})
	}
	if len(fds) == 0 {
		return nil, func() {}
	}
	// Closing w wakes the poll through r: that is how stop ends it.
	r, w, err := os.Pipe()
	if err != nil {
		return nil, func() {}
	}
	fds = append(fds, unix.PollFd{Fd: int32(r.Fd()), Events: unix.POLLIN})
	ch := make(chan struct{})
	go func() {
		defer r.Close()
		for {
			_, err := unix.Poll(fds, -1)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil || fds[len(fds)-1].Revents != 0 {
				return
			}
			for _, fd := range fds[:len(fds)-1] {
				if fd.Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
					close(ch)
					return
				}
			}
		}
	}()
	return ch, func() { w.Close() }
}
