package main

import (
	"net"
	"strconv"
	"strings"
	"testing"
)

// A command run with another IPC_HOST than the address the broker of its
// data folder serves, on the same port (the machine's network address in
// one terminal, the loopback in the assistants'), binds that address
// beside the broker's and finds the folder locked. The error says which
// broker serves the folder, where, and the setting that joins it, not
// only that the folder is locked. On Linux every 127.x.y.z address is the
// loopback's, so 127.0.0.2 is a second address of this machine.
func TestDataFolderServedOnAnotherHost(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	b := m.startBroker()
	defer b.interrupt()
	other := m.withEnv("IPC_HOST=127.0.0.2")
	r := other.run("list")
	msg := oneLineError(t, r, "list")
	otherAddr := net.JoinHostPort("127.0.0.2", strconv.Itoa(m.port))
	for _, want := range []string{
		strconv.Itoa(b.pid()), m.addr(), otherAddr, "IPC_HOST=127.0.0.1", m.dir,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error should say %q: %s", want, msg)
		}
	}
	if n := strings.Count(msg, "locked by another ipcmesh broker"); n > 0 {
		t.Errorf("the error says the folder is locked rather than where it is served: %s", msg)
	}
	if ln, err := net.Listen("tcp", otherAddr); err != nil {
		t.Errorf("the refused command left %s bound: %v", otherAddr, err)
	} else {
		ln.Close()
	}
}
