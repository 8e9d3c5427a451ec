//go:build unix

package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

func TestNameHeldOnOneHostUntilItsLeaseEnds(t *testing.T) {
	t.Parallel()
	// Short sessions and leases, so that the name is held by the
	// connection alone and frees soon after host A dies; the lease long
	// enough that host B's refusal below, after two processes were
	// killed and reaped on a loaded machine, comes before it ends (with
	// 10 s, renewed every 3.3 s, it had under 7 s).
	a, b := hosts(t, natsMeshes.Get(t), "IPC_SESSION_TTL=1s", "IPC_NATS_LEASE=20s")
	brokerA := a.startBroker()
	b.startBroker()
	holder := a.start(nil, "watch", "--as", "reviewer")
	holder.waitLine(holder.stderr, "watching mail for reviewer", startTimeout)
	// Presence is mesh-wide: host B lists reviewer online.
	awaitOnline(t, b, "reviewer")

	taken := func() {
		t.Helper()
		msg := b.mustFail("register", "reviewer")
		if !strings.Contains(msg, "another host") {
			t.Errorf("register on host B said %q; want it to say reviewer is in use on another host", msg)
		}
	}
	taken()
	// Host A dies whole, without a chance to let go of the name: its
	// broker is frozen first, so that neither it nor the holder (which
	// would otherwise host the next broker) can release or renew the
	// lease; then both are killed.
	testbin.Stop(t, brokerA.pid(), runTimeout)
	died := time.Now()
	for _, p := range []*proc{holder, brokerA} {
		if err := signalPID(p.pid(), os.Kill); err != nil {
			t.Fatal(err)
		}
		p.wait(runTimeout)
	}
	taken() // the lease outlives its host by up to its TTL
	var took time.Duration
	testbin.Eventually(t, time.Minute, "host B to take reviewer once host A's lease ended", func() bool {
		took = time.Since(died)
		return b.run("register", "reviewer").code == 0
	})
	t.Logf("host B took reviewer %v after host A died (lease 20s, renewed every 6.7s)", took)
}
