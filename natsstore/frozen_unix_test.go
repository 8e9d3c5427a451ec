//go:build unix

package natsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestWritesGoOnWhileTheServerOfTheConnectionHangs: the NATS server a
// broker is connected to stops (SIGSTOP: a host that hangs, or is cut off
// without a reset), and its two peers, a quorum, carry on. The broker's
// writes must reach them: its connection waited for the client library's
// default ping, 2 minutes, before it gave up the server, and every write
// of that host failed meanwhile, with the cluster whole but for one.
func TestWritesGoOnWhileTheServerOfTheConnectionHangs(t *testing.T) {
	nats := natstest.StartProcs(t)
	// Longer than an election, shorter than the library's ping: the
	// write fails only if the connection sticks to the stopped server.
	a := openOnProcs(t, nats, shared.Prefix(), func(o *natsstore.Options) { o.WriteTimeout = 40 * time.Second })
	mustAppendTo(t, a, draft("before", "alice", "bob", "with every server up"))
	frozen := nats.Index(a.ConnectedServer())
	nats.Freeze(frozen)
	t.Cleanup(func() { nats.Thaw(frozen) })
	start := time.Now()
	mustAppendTo(t, a, draft("during", "alice", "bob", "with the server of the connection stopped"))
	t.Logf("acked %v after the server was stopped", time.Since(start).Round(time.Millisecond))
	if n, err := a.UnreadCount("bob"); err != nil || n != 2 {
		t.Errorf("bob's unread = %d, %v; want both messages", n, err)
	}
}

func mustAppendTo(t *testing.T, s *natsstore.Store, d store.Draft) {
	t.Helper()
	ds, err := s.Append(context.Background(), []store.Draft{d})
	if err != nil {
		t.Fatalf("Append %s: %v", d.ID, err)
	}
	if ds[0].Err != nil {
		t.Fatalf("Append %s: %v", d.ID, ds[0].Err)
	}
}

// TestWriteWaitsAsLongAsAnElection: every server of the cluster stops
// answering for 6 s, longer than a write waited (5 s) and shorter than an
// election may last after the server that led the log died (up to 9 s
// without a heartbeat, then the vote), which a cluster whose quorum is
// whole goes through whenever a server dies. A write made meanwhile, with
// the defaults, is acked once the servers answer: it failed with
// unavailable while the kill of one server of three was being handled.
// The outage is as short as shows the old wait too short, leaving the
// rest of the 12 s to the servers' own recovery, which takes seconds
// under the race detector on a busy machine.
func TestWriteWaitsAsLongAsAnElection(t *testing.T) {
	nats := natstest.StartProcs(t)
	a := openOnProcs(t, nats, shared.Prefix(), nil)
	mustAppendTo(t, a, draft("before", "alice", "bob", "with every server up"))
	for i := range 3 {
		nats.Freeze(i)
	}
	thawed := make(chan struct{})
	go func() {
		defer close(thawed)
		time.Sleep(6 * time.Second) // the outage itself, not a wait for an event
		for i := range 3 {
			nats.Thaw(i)
		}
	}()
	t.Cleanup(func() { <-thawed })
	start := time.Now()
	mustAppendTo(t, a, draft("during", "alice", "bob", "while no server answers"))
	t.Logf("acked %v after the servers stopped answering", time.Since(start).Round(time.Millisecond))
}
