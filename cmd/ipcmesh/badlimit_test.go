package main

import (
	"strings"
	"testing"
)

// A user who set a limit or a rate wrongly can still see the broker's
// status and stop it: neither command uses those settings. Each warns of
// the setting, naming it; with no broker running, status, which would
// have to start one, refuses it as every other command does, and starts
// none.
func TestStopAndStatusDespiteABadLimit(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	b := m.startBroker()
	defer func() {
		if !b.hasExited() {
			b.interrupt()
		}
	}()
	for _, setting := range []string{"IPC_MAX_MESSAGE_BYTES=abc", "IPC_RATE_LIMIT=-1", "IPC_SESSION_TTL=10min"} {
		name, value, _ := strings.Cut(setting, "=")
		bad := m.withEnv(setting)
		r := bad.run("status")
		if r.code != 0 || !strings.Contains(r.stdout, "broker:") {
			t.Errorf("ipcmesh status with %s: %s", setting, r)
		}
		if want := name + `="` + value + `"`; !strings.Contains(r.stderr, "warning: "+want) {
			t.Errorf("ipcmesh status with %s does not warn of %s: %s", setting, want, r)
		}
		if msg := bad.mustFail("list"); !strings.Contains(msg, name) {
			t.Errorf("ipcmesh list with %s: %q; want it refused, naming %s", setting, msg, name)
		}
	}
	bad := m.withEnv("IPC_MAX_MESSAGE_BYTES=abc")
	r := bad.run("stop")
	if r.code != 0 || !strings.Contains(r.stdout, "stopped the broker") || !strings.Contains(r.stderr, `warning: IPC_MAX_MESSAGE_BYTES="abc"`) {
		t.Fatalf("ipcmesh stop with IPC_MAX_MESSAGE_BYTES=abc: %s", r)
	}
	b.wait(runTimeout)

	msg := bad.mustFail("status")
	if !strings.Contains(msg, "IPC_MAX_MESSAGE_BYTES") || !strings.Contains(msg, "no broker runs") {
		t.Errorf("ipcmesh status with IPC_MAX_MESSAGE_BYTES=abc and no broker: %q; want it refused, naming the setting", msg)
	}
	if !portFree(t, m.port) {
		t.Error("ipcmesh status with IPC_MAX_MESSAGE_BYTES=abc started a broker")
	}
}
