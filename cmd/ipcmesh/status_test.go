package main

import (
	"regexp"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// status names who is online on a line of its own, and counts the
// connections apart: the count is the broker's, the command's own
// connection among them, and must not read as the names'.
func TestStatusSaysWhoIsOnline(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.start(nil, "check", "--as", "alice", "--wait", "60s") // killed when the test ends
	testbin.Eventually(t, runTimeout, "alice's check to wait for mail", func() bool { return m.status().Waiting == 1 })

	out := m.mustRun("status").stdout
	wantIn(t, "ipcmesh status", out, "online:       alice\n")
	// A command that has just exited may still hold a connection the
	// broker has yet to see closed: the count is at least alice's and
	// this one's.
	if !regexp.MustCompile(`(?m)^connections:  ([2-9]|\d\d+) open \(this command's included\); checks waiting for mail: 1$`).MatchString(out) {
		t.Errorf("ipcmesh status printed %q, want a line counting at least 2 connections and alice's waiting check", out)
	}
}
