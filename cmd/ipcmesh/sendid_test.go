package main

import (
	"strings"
	"testing"
)

// TestSendWithIDRunAgainSendsOnce: a script that runs ipcmesh send again
// after a failure it cannot read (the command timed out or was killed
// across a failover, after the broker may have stored the message) gives
// the same --id, and the message is stored once; the second run says so.
func TestSendWithIDRunAgainSendsOnce(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	const id = "nightly-build-4711"
	first := m.mustRun("send", "--as", "alice", "--id", id, "bob", "build 4711 is green")
	if strings.Contains(first.stdout, "already sent") {
		t.Errorf("the first send with --id says it was sent before: %q", first.stdout)
	}
	again := m.mustRun("send", "--as", "alice", "--id", id, "bob", "build 4711 is green")
	if !strings.Contains(again.stdout, "already sent") || !strings.Contains(again.stdout, id) {
		t.Errorf("the send run again with the same --id printed %q; want it to say the message was already sent, under %s", again.stdout, id)
	}
	if got := m.check("--as", "bob"); len(got.Messages) != 1 || got.Messages[0].ID != id {
		t.Errorf("bob has %+v; want the one message, under id %s", got.Messages, id)
	}
	bad := m.run("send", "--as", "alice", "--id", "x y", "bob", "hi")
	if bad.code != 2 {
		t.Errorf("a bad --id exited %d, want 2 (a usage error)", bad.code)
	}
	for _, want := range []string{`--id "x y"`, "8 to 64", "letters, digits"} {
		if !strings.Contains(bad.stderr, want) {
			t.Errorf("a bad --id: %q does not say %q", bad.stderr, want)
		}
	}
}
