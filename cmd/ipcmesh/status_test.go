package main

import (
	"fmt"
	"regexp"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
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

// status and version say the revision of the broker and of the build, so
// that a user who upgraded while a broker of the older build still runs
// (a detached one runs until it idles out) sees which one refuses what.
func TestStatusAndVersionSayTheRevision(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	wantIn(t, "ipcmesh status", m.mustRun("status").stdout, fmt.Sprintf(", protocol v1, revision %d, as this ipcmesh\n", ipc.Revision))
	wantIn(t, "ipcmesh version", m.mustRun("version").stdout, fmt.Sprintf("(protocol v1, revision %d", ipc.Revision))
	var s ipc.StatusResult
	m.mustJSON(&s, "status", "--json")
	if s.Broker.Revision != ipc.Revision {
		t.Errorf("status --json says revision %d, want %d", s.Broker.Revision, ipc.Revision)
	}
}
