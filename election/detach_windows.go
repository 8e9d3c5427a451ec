//go:build windows

package election

import (
	"fmt"
	"net"
	"os/exec"
	"syscall"
)

// detachedProcess starts the child without the parent's console.
const detachedProcess = 0x00000008

// passListener cannot hand a socket to a child on Windows: it closes ln so
// that the child can bind the port itself, in a process group of its own
// without the parent's console. A peer that binds the port in between wins
// the election instead, and the child reports errPortTaken.
func passListener(cmd *exec.Cmd, ln net.Listener) (release func(), err error) {
	ln.Close()
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess}
	return func() {}, nil
}

// detachedListener binds the mesh port, which the peer that started this
// process has just released.
func detachedListener(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errPortTaken, err)
	}
	return ln, nil
}
