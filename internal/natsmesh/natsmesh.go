// Package natsmesh gives each test a mesh of its own on the NATS cluster
// its test binary shares, and drops that mesh when the test ends.
//
// A mesh left behind keeps its five replicated streams, whose Raft groups
// the cluster's three nodes, in the test process, tend for the rest of the
// run: each cost about 0.4 % of a core while no test used it, sixty of
// them a quarter of a core and more with -count, and the tests after
// them, starved on two cores, timed out in handshakes. It lives apart
// from natstest because natsstore's own tests use natstest, and this
// package needs natsstore to drop a mesh.
package natsmesh

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/natsstore"
)

// dropTimeout bounds the drop of one mesh: a test whose cluster lost its
// quorum for good should not hang the run's end.
const dropTimeout = 30 * time.Second

// Prefix returns a prefix no other test of the binary uses on c, and
// drops the mesh made under it once tb ends. Call it before starting the
// brokers on that mesh: cleanups run last registered first, so the drop
// comes after they stop. A mesh never made there is nothing to drop.
func Prefix(tb testing.TB, c *natstest.Cluster) string {
	tb.Helper()
	url, prefix := c.Get(tb).URL(), c.Prefix()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), dropTimeout)
		defer cancel()
		// The test is over: a mesh that stays is a cost to the tests
		// after it, not a fault of this one, so it is logged, not failed.
		if err := natsstore.Drop(ctx, natsstore.Options{URL: url, Prefix: prefix}); err != nil {
			tb.Logf("drop the mesh %s: %v", prefix, err)
		}
	})
	return prefix
}
