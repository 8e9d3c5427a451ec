package natsstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

func TestNameHeldByOneHost(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	// A lease of 1 s ran out between A's claim and B's, once, in a run of
	// every package under the race detector beside other work: a host
	// held up for a second renews nothing, as it should. Two leave the
	// renewals (every third of it) room on a busy machine.
	const ttl = 2 * time.Second
	short := func(o *natsstore.Options) { o.LeaseTTL = ttl }
	a, b := openHost(t, p, short), openHost(t, p, short)
	ctx := context.Background()
	if err := a.Claim(ctx, "reviewer"); err != nil {
		t.Fatalf("A claims reviewer: %v", err)
	}
	if err := a.Claim(ctx, "reviewer"); err != nil {
		t.Fatalf("A claims reviewer again: %v", err)
	}
	err := b.Claim(ctx, "reviewer")
	if ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
		t.Fatalf("B claims reviewer while A holds it: %v, want name_taken", err)
	}
	eventually(t, "B sees reviewer as held", func() bool { return b.Held("reviewer") })
	// Two TTLs on, A still holds it: it renews the lease. (The test
	// needs the time to pass; nothing is awaited by it.)
	time.Sleep(2 * ttl)
	if err := b.Claim(ctx, "reviewer"); ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
		t.Fatalf("B claims reviewer 2 TTLs on: %v, want name_taken (A renews)", err)
	}
	a.Release("reviewer")
	if err := b.Claim(ctx, "reviewer"); err != nil {
		t.Fatalf("B claims reviewer after A released it: %v", err)
	}
	eventually(t, "A lists reviewer (held by B) among the holders", func() bool {
		return strings.Contains(strings.Join(a.Holders(), ","), "reviewer")
	})
}

// eventually polls cond until it holds, failing the test after 10 s.

// TestNameHeldAgainAfterQuorumLossLongerThanTheLease: while the cluster has
// no quorum no lease is renewed, and one whose TTL passed meanwhile is gone
// once the quorum is back. The host whose instance is still connected as
// the name holds it again: the other host sees it held and cannot take it.
// The outage is logged once when it starts and once when it ends, however
// many names and rounds of renewal it lasts.
func TestNameHeldAgainAfterQuorumLossLongerThanTheLease(t *testing.T) {
	nats := natstest.Start(t)
	short := func(o *natsstore.Options) {
		o.URL = nats.URL()
		// A lease of 1 s gives each round of renewals a third of a
		// second, which a busy machine under the race detector outlasted
		// with the quorum whole: A's hold lapsed after the quorum was
		// back, and B took the name. (TestNameHeldByOneHost's too.)
		o.LeaseTTL = 2 * time.Second
	}
	p := shared.Prefix()
	ao := natsstore.Options{Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	short(&ao)
	logs := &logRecorder{}
	logs.dumpOnFailure(t)
	a, b := reopenLogged(t, ao, slog.New(logs)), openHost(t, p, short)
	ctx := context.Background()
	names := []string{"reviewer", "builder", "tester"}
	for _, n := range names {
		if err := a.Claim(ctx, n); err != nil {
			t.Fatalf("A claims %s: %v", n, err)
		}
	}
	eventually(t, "B sees reviewer as held", func() bool { return b.Held("reviewer") })

	const failing, working = "renew", "hold on its names again"
	nats.Stop(1)
	nats.Stop(2)
	// B hears of no renewal while the cluster cannot be written: the
	// lease is past its TTL.
	eventually(t, "B sees the lease of reviewer run out", func() bool { return !b.Held("reviewer") })
	// A round of renewals that timed out before the outage, on a busy
	// machine, is a failure of its own, with its warning and, once a
	// round works again, its end; so is one that began before the second
	// node stopped and worked before it was gone. The outage's failure is
	// the one under way once the cluster cannot be written.
	eventually(t, "A logs renewals failing in two rounds since they last worked", func() bool {
		warns, notes := logs.lastEpisode(failing, working)
		return warns+notes > 1
	})
	if warns, notes := logs.lastEpisode(failing, working); warns != 1 {
		t.Errorf("A logged %d warnings and %d notes of failed renewals of its 3 names in one outage; want 1 warning, the rest notes", warns, notes)
	}
	if w, i := logs.count(slog.LevelWarn, failing), logs.count(slog.LevelInfo, working); w != i+1 {
		t.Errorf("A logged %d warnings of failed renewals and %d ends of them, one failure under way; want one warning more than ends", w, i)
	}
	for _, i := range []int{1, 2} {
		if err := nats.Restart(ctx, i); err != nil {
			t.Fatalf("restart node %d: %v", i, err)
		}
	}
	// The restarted nodes elect the bucket's leader again first, which
	// takes longer than eventually's 10 s on a busy machine.
	testbin.Eventually(t, time.Minute, "B sees reviewer held again by A", func() bool { return b.Held("reviewer") })
	if err := b.Claim(ctx, "reviewer"); ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
		t.Fatalf("B claims reviewer, which A's instance still acts as: %v, want name_taken", err)
	}
	testbin.Eventually(t, time.Minute, "A logs that its renewals work again", func() bool {
		return logs.count(slog.LevelInfo, working) == logs.count(slog.LevelWarn, failing)
	})
}
