package natsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// A broker that starts with another IPC_NATS_LEASE or IPC_NATS_REPLICAS
// than the mesh was made with keeps the mesh's, rather than change them
// under the brokers already running: a shorter lease set by a later host
// let the running hosts' leases lapse between their renewals, and another
// host took the names their instances were connected as; fewer replicas
// made every write of every host less safe.
func TestLaterHostKeepsTheMeshsLeaseAndReplicas(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	ctx := context.Background()
	a := openHost(t, p, func(o *natsstore.Options) { o.LeaseTTL = 30 * time.Second })
	if err := a.Claim(ctx, "alice"); err != nil {
		t.Fatalf("host A claims alice: %v", err)
	}
	b := openHost(t, p, func(o *natsstore.Options) { o.LeaseTTL = time.Second; o.Replicas = 1 })

	// Host A renews every 10 s. Had host B's second become the bucket's
	// TTL, A's lease would be gone within it.
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		if err := b.Claim(ctx, "alice"); err == nil {
			t.Fatal("host B took alice while host A held it: B's IPC_NATS_LEASE of 1s shortened the lease of A's 30s")
		}
	}
	if !b.Held("alice") {
		t.Error("host B does not see alice held by host A")
	}

	st := stream(t, sharedJetStream(t), p)
	if r := st.CachedInfo().Config.Replicas; r != 3 {
		t.Errorf("the mesh's log has %d replicas after a host with IPC_NATS_REPLICAS=1 joined, want the 3 it was made with", r)
	}
}

// A broker given no IPC_NATS_REPLICAS or IPC_NATS_LEASE serves the mesh
// with the mesh's own: an assistant's MCP server that takes over as the
// broker of a host has only what the data folder recorded, the cluster's
// address, and on a cluster of one server (ipcmesh cluster --nodes 1,
// which says to set IPC_NATS_REPLICAS=1) it failed to open the mesh for
// asking three replicas of it.
func TestUnsetSettingsAreTheMeshs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := soloNode(ctx, t)
	open := func(replicas int, lease time.Duration) (*natsstore.Store, error) {
		return natsstore.Open(ctx, natsstore.Options{URL: node.ClientURL(), Replicas: replicas, LeaseTTL: lease, Store: store.Options{Dir: t.TempDir()}}, nil)
	}
	first, err := open(1, 5*time.Second)
	if err != nil {
		t.Fatalf("the first broker, with IPC_NATS_REPLICAS=1: %v", err)
	}
	defer first.Close()
	if err := first.Claim(ctx, "alice"); err != nil {
		t.Fatal(err)
	}

	taker, err := open(0, 0)
	if err != nil {
		t.Fatalf("a broker with neither setting, on the mesh of one replica: %v", err)
	}
	defer taker.Close()
	if err := taker.Claim(ctx, "alice"); err == nil {
		t.Error("the second broker took alice, which the first holds")
	}
}

// soloNode starts a NATS server with JetStream in no cluster, as
// nats-server -js or ipcmesh cluster --nodes 1 runs one, for the test.
func soloNode(ctx context.Context, t *testing.T) *cluster.Node {
	t.Helper()
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{Name: "solo", Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start a NATS server of its own: %v", err)
	}
	t.Cleanup(node.Shutdown)
	return node
}
