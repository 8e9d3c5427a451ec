//go:build unix

package election

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
)

// passListener gives cmd the listener as its file descriptor 3 and a
// session of its own: no terminal's job control or hangup reaches it. The
// returned func closes this process's copies once cmd has started.
func passListener(cmd *exec.Cmd, ln net.Listener) (release func(), err error) {
	tl, ok := ln.(*net.TCPListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("pass a %T to a detached broker: want a TCP listener", ln)
	}
	f, err := tl.File()
	if err != nil {
		ln.Close()
		return nil, err
	}
	cmd.ExtraFiles = []*os.File{f}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	return func() { f.Close(); ln.Close() }, nil
}

// detachedListener is the listener a peer handed this process.
func detachedListener(string) (net.Listener, error) {
	f := os.NewFile(3, "mesh listener")
	if f == nil {
		return nil, errors.New("no listener was handed over: a detached broker is started by a peer; run ipcmesh broker to host one yourself")
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("no listener was handed over (%v): a detached broker is started by a peer; run ipcmesh broker to host one yourself", err)
	}
	return ln, nil
}
