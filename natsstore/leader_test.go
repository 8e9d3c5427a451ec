package natsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// openOnProcs opens a host's store on a cluster of node processes, which
// forms while the store waits.
func openOnProcs(t *testing.T, nats *natstest.Procs, prefix string, tweak func(*natsstore.Options)) *natsstore.Store {
	t.Helper()
	o := natsstore.Options{URL: nats.URL(), Prefix: prefix, Store: store.Options{Dir: t.TempDir()}}
	if tweak != nil {
		tweak(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := natsstore.Open(ctx, o, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestClaimWaitsOutTheElectionOfTheNamesLeader: the server that leads the
// names bucket dies with kill -9, and its two peers, a quorum, elect a new
// leader once they miss its heartbeats, which takes seconds. A name
// claimed meanwhile is held once they have: a claim made one try, and
// every command of every host failed with unavailable, saying the
// cluster had no quorum, for as long as the election lasted.
func TestClaimWaitsOutTheElectionOfTheNamesLeader(t *testing.T) {
	nats := natstest.StartProcs(t)
	p := shared.Prefix()
	// Longer than any election, so that the claim fails only if it gives
	// up before the cluster answers.
	a := openOnProcs(t, nats, p, func(o *natsstore.Options) { o.WriteTimeout = 45 * time.Second })
	ctx := context.Background()
	if err := a.Claim(ctx, "builder"); err != nil {
		t.Fatalf("claim builder with every server up: %v", err)
	}
	nats.Kill(nats.Leader("KV_" + p + "-names"))
	start := time.Now()
	if err := a.Claim(ctx, "reviewer"); err != nil {
		t.Fatalf("claim reviewer while the names bucket elects its leader: %v (after %v)", err, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("reviewer held %v after the names bucket's leader was killed", time.Since(start).Round(time.Millisecond))
	if !a.Held("builder") || !a.Held("reviewer") {
		t.Errorf("held: builder %v, reviewer %v; want both", a.Held("builder"), a.Held("reviewer"))
	}
}
