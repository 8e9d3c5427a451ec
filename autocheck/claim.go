package autocheck

import (
	"bufio"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"time"
)

// Claim makes the caller the one waiter for name (`ipcmesh hook wait`,
// started anew at every stop of an assistant): the waiter that held the
// claim is told to stop and has let go by the time Claim returns, and the
// returned channel is closed when a later Claim supersedes this one.
// release gives the claim up.
//
// The claim is a Unix socket in the autocheck folder (private to the user),
// so superseding is immediate, needs no polling, and a waiter that died
// leaves nothing that blocks the next one. When the socket cannot be made
// (the path is too long for one, say), Claim returns the error and the
// caller may wait unclaimed.
func Claim(dataDir, name string) (superseded <-chan struct{}, release func(), err error) {
	p, err := path(dataDir, name, ".wait")
	if err != nil {
		return nil, nil, err
	}
	if err := os.MkdirAll(Dir(dataDir), 0o700); err != nil {
		return nil, nil, err
	}
	// Binding the path is the lock: only one waiter can, and while it
	// holds it nobody else removes the path. Claimers that lose the race
	// to bind stop the winner and try again, so the last to arrive holds
	// the claim in the end.
	for attempt := 0; ; attempt++ {
		ln, lerr := net.Listen("unix", p)
		if lerr == nil {
			ul := ln.(*net.UnixListener)
			done := make(chan struct{})
			go serveClaim(ul, done)
			// Closing the listener unlinks the path, once.
			return done, func() { ul.Close() }, nil
		}
		if attempt == maxClaimAttempts {
			return nil, nil, lerr
		}
		c, err := net.DialTimeout("unix", p, time.Second)
		switch {
		case err == nil:
			stopHolder(c)
		case errors.Is(err, fs.ErrNotExist):
			// The holder has just let go: bind again.
		case stale(p):
			os.Remove(p) // a waiter died without letting go
		default:
			// Another claimer has bound the path and does not listen yet.
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// maxClaimAttempts bounds the rounds of a claim. Every round some claimer
// binds the path, so it is only reached when binding cannot work at all.
const maxClaimAttempts = 50

// stale reports whether the socket at p, which refuses connections, is
// older than a moment: one just bound by another claimer refuses them too,
// until it listens, and must not be taken for a dead one.
func stale(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && time.Since(fi.ModTime()) > 2*time.Second
}

// stopHolder asks the waiter on the other end of c to stop, and waits
// until it has let go of the path.
func stopHolder(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "stop\n"); err != nil {
		return
	}
	io.Copy(io.Discard, c) // the holder closes the connection once it has let go
}

// serveClaim closes done when another waiter asks this one to stop. It
// lets go of the path (closing the listener unlinks it) before it says so.
func serveClaim(ln *net.UnixListener, done chan<- struct{}) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return // released
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		if line == "stop\n" {
			ln.Close()
			close(done)
			c.Close()
			return
		}
		c.Close()
	}
}
