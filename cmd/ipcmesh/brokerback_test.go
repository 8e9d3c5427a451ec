package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A broker run in the foreground (a service, with its HTTP face) that was
// killed is replaced by a detached broker that a peer starts. When the
// service is started again, its broker takes the port back: before, it
// said "a broker already serves", and "ipcmesh stop" first did not help,
// since a running peer took the port again before the broker could, so
// the service, and its face, stayed down for as long as an assistant ran.
func TestForegroundBrokerTakesBackThePortOfADetachedOne(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	first := m.startBroker()
	watcher := m.start(nil, "watch", "--json", "--as", "carol")
	m.mustRun("send", "--as", "alice", "carol", "before the kill")
	watchMessage(watcher, "before the kill")

	first.cmd.Process.Kill()
	first.wait(runTimeout)
	m.mustRun("send", "--as", "alice", "carol", "to the detached broker")
	watchMessage(watcher, "to the detached broker")
	detached, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("no detached broker took the place of the one killed")
	}

	again := m.startBroker()
	if pid := m.status().Broker.PID; pid != again.pid() {
		t.Fatalf("the broker started again is pid %d, but pid %d serves the mesh", again.pid(), pid)
	}
	if testbin.Alive(detached) {
		t.Errorf("the detached broker (pid %d) still runs beside the one that took its place", detached)
	}
	m.mustRun("send", "--as", "alice", "carol", "to the broker started again")
	watchMessage(watcher, "to the broker started again")
	again.stopAsCtrlC(runTimeout)
	watcher.stopAsCtrlC(runTimeout)
	for _, c := range []string{"before the kill", "to the detached broker", "to the broker started again"} {
		if n := strings.Count(watcher.stdout.String(), fmt.Sprintf("%q", c)); n != 1 {
			t.Errorf("the watch printed %q %d times, want once", c, n)
		}
	}
}
