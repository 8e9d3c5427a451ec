//go:build unix

package natsstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

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

// TestViewCatchesUpWhileTheLeaderOfTheLogHangs: the server that leads the
// log hangs (SIGSTOP: a host that hangs, or is cut off without a reset)
// while host B's view lags behind A's writes, and its two peers elect a
// new leader. The other servers go on handing the hung one a share of
// the reads of the log for minutes, until their route to it times out,
// and none of those is ever answered. B's next write, which reads what
// its view lacks before it is acked, must not wait on them: each such
// read waited out a try of 3 s, so a lag of 40 events took half a
// minute, and every request of that broker queued behind it for as long
// as the server hung.
func TestViewCatchesUpWhileTheLeaderOfTheLogHangs(t *testing.T) {
	const lag = 40
	nats := natstest.StartProcs(t)
	p := shared.Prefix()
	a := openOnProcs(t, nats, p, nil)
	leader := nats.Leader(p)
	// B's connection is on another server: what is measured is the
	// reading of the log, not the move of a connection.
	urls := strings.Split(nats.URL(), ",")
	b := openOnProcs(t, nats, p, func(o *natsstore.Options) { o.URL = urls[(leader+1)%len(urls)] })

	// B applies nothing of A's writes until the leader hangs.
	b.StopFollowing()
	var released sync.Once
	hold := b.HoldApplying()
	release := func() { released.Do(hold) }
	t.Cleanup(release)
	for i := range lag {
		mustAppendTo(t, a, draft(fmt.Sprintf("lag-%02d", i), "alice", "bob", "written while B lags"))
	}
	nats.Freeze(leader)
	t.Cleanup(func() { nats.Thaw(leader) })
	waitLeaderOtherThan(t, urls[(leader+1)%len(urls)], p, nats.Name(leader))
	release()

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := b.Append(ctx, []store.Draft{draft("after", "carol", "bob", "written on B once it had caught up")})
	if err == nil {
		err = ds[0].Err
	}
	if err != nil {
		t.Fatalf("B's write, %v after the log had a new leader, with %d events to read: %v", time.Since(start).Round(time.Millisecond), lag, err)
	}
	t.Logf("B's write acked %v after the log had a new leader, with %d events to read", time.Since(start).Round(time.Millisecond), lag)
	if n, err := b.UnreadCount("bob"); err != nil || n != lag+1 {
		t.Errorf("bob's unread on B = %d, %v; want %d", n, err, lag+1)
	}
}

// waitLeaderOtherThan waits, asking the server at url, until stream has a
// leader and it is not the server named old.
func waitLeaderOtherThan(t *testing.T, url, stream, old string) {
	t.Helper()
	js := jetStreamAt(t, url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		ictx, icancel := context.WithTimeout(ctx, time.Second)
		st, err := js.Stream(ictx, stream)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = st.Info(ictx); err == nil && info.Cluster != nil && info.Cluster.Leader != "" && info.Cluster.Leader != old {
				icancel()
				return
			}
		}
		icancel()
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s has no leader other than %s within a minute (%v)", stream, old, err)
		case <-time.After(100 * time.Millisecond):
		}
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
