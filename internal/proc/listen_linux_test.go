package proc

import (
	"net"
	"os"
	"os/exec"
	"testing"
)

func TestListens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	if ok, err := Listens(os.Getpid(), port); err != nil || !ok {
		t.Errorf("Listens(self, %d) = %v, %v; want true: this process listens there", port, ok, err)
	}

	// A process that holds no socket, and a port nothing listens on.
	child := exec.Command("sleep", "60")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { child.Process.Kill(); child.Wait() }()
	if ok, err := Listens(child.Process.Pid, port); err != nil || ok {
		t.Errorf("Listens(another process, %d) = %v, %v; want false", port, ok, err)
	}
	ln2, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	other := ln2.Addr().(*net.TCPAddr).Port
	ln2.Close()
	if ok, err := Listens(os.Getpid(), other); err != nil || ok {
		t.Errorf("Listens(self, %d) = %v, %v; want false: nothing listens there", other, ok, err)
	}
}
