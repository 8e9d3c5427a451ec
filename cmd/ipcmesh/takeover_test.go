package main

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
)

// A cluster of one's own serves TLS with its own CA (IPC_NATS_CA), as the
// README has it for real hosts. A peer that takes over as the host's
// broker (an assistant's MCP server, a one-shot command) has none of the
// broker's IPC_NATS_* settings, only what the data folder recorded: with
// the CA file recorded too, it reaches the cluster and serves the mesh.
func TestTakeoverReachesAClusterThatNeedsItsCA(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := selfSigned(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := natstest.Server(t, server.Options{
		JetStream: true, StoreDir: t.TempDir(),
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, TLSTimeout: 5,
	})
	store := "tls://" + srv.Addr().String()

	a := newMesh(t, "IPC_SHARED_SECRET=takeover-tls")
	broker := a.withEnv("IPC_NATS_CA="+certFile, "IPC_NATS_REPLICAS=1").start(nil, "broker", "--store", store)
	broker.waitLine(broker.stdout, "serving", startTimeout)
	a.mustRun("register", "carol")
	if err := signalPID(broker.pid(), os.Kill); err != nil {
		t.Fatal(err)
	}
	broker.wait(runTimeout)

	// No IPC_STORE, no IPC_NATS_CA: this send starts the next broker.
	a.mustRun("send", "--as", "dave", "carol", "through the broker that took over")
	got := a.check("--as", "carol")
	if len(got.Messages) != 1 || got.Messages[0].Content != "through the broker that took over" {
		t.Fatalf("carol has %+v; want the message sent through the broker that took over", got.Messages)
	}
	a.mustRun("stop")
}

// A peer that takes over with only the cluster's address the data folder
// recorded, when the cluster is not there any more (it moved, or stopped
// for good), says that the address was recorded and
// where, and how to give another: nobody set the IPC_STORE its error
// would otherwise send them to fix.
func TestTakeoverOnAClusterGoneNamesTheRecord(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a := newMesh(t, "IPC_SHARED_SECRET=takeover-gone")
	broker := a.start(nil, "broker", "--store", nats.URL())
	broker.waitLine(broker.stdout, "serving", startTimeout)
	a.mustRun("register", "carol")
	broker.interrupt()
	broker.wait(runTimeout)
	nats.Close()

	msg := a.mustFail("send", "--as", "dave", "carol", "after the cluster stopped")
	wantIn(t, "a takeover's error", msg, filepath.Join(a.dir, "nats", "cluster.json"), "set IPC_STORE", "IPC_STORE=bbolt")
}
