package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// ipcmesh cluster prints the IPC_STORE line once the cluster takes R3
// streams, keeps its data in the data folder, and on SIGTERM stops every
// node and exits 0.
func TestClusterCommand(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the command with SIGTERM, which Windows cannot send")
	}
	m := newMesh(t)
	p := m.start(nil, "cluster")
	line := p.waitLine(p.stdout, "IPC_STORE=", startTimeout)
	store, ok := strings.CutPrefix(line, "IPC_STORE=")
	if !ok {
		t.Fatalf("the IPC_STORE line is not alone on its line: %q", line)
	}
	urls := strings.Split(store, ",")
	if len(urls) != 3 {
		t.Fatalf("IPC_STORE=%s: want the URLs of 3 nodes", store)
	}

	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	nc, err := nats.Connect(store)
	if err != nil {
		t.Fatalf("connect to %s: %v", store, err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// At once: the line is printed only when the cluster can take it.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TEST", Subjects: []string{"test.>"}, Replicas: 3}); err != nil {
		t.Fatalf("create an R3 stream on %s: %v", store, err)
	}
	if _, err := js.Publish(ctx, "test.one", []byte("one")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	nc.Close()
	for _, n := range []string{"n1", "n2", "n3"} {
		if _, err := os.Stat(filepath.Join(m.dir, "cluster", n)); err != nil {
			t.Errorf("node %s's data folder: %v", n, err)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh cluster exited %d after SIGTERM\nstdout:\n%s\nstderr:\n%s", code, p.stdout, p.stderr)
	}
	if s := p.stderr.String(); s != "" {
		t.Errorf("ipcmesh cluster wrote to stderr in a clean run:\n%s", s)
	}
	// Each data folder has a secret of its own: brokers started as the
	// output says must be told to share one.
	if out := p.stdout.String(); !strings.Contains(out, "the same IPC_SHARED_SECRET") {
		t.Errorf("ipcmesh cluster printed:\n%s\nwant it to say that every broker needs the same IPC_SHARED_SECRET", out)
	}
	for _, raw := range urls {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("IPC_STORE URL %q: %v", raw, err)
		}
		port, _ := strconv.Atoi(u.Port())
		if u.Hostname() != "127.0.0.1" || port == 0 {
			t.Errorf("IPC_STORE URL %q: want nats://127.0.0.1:PORT", raw)
			continue
		}
		if !portFree(t, port) {
			t.Errorf("port %d is still bound after ipcmesh cluster exited", port)
		}
	}
}

// With fewer nodes than the 3 replicas a broker asks for by default,
// ipcmesh cluster also prints IPC_NATS_REPLICAS=1, and a mesh given what it
// printed works.
func TestClusterCommandOfOneNode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the command with SIGTERM, which Windows cannot send")
	}
	p := newMesh(t).start(nil, "cluster", "--nodes", "1")
	store := p.waitLine(p.stdout, "IPC_STORE=", startTimeout)
	replicas := p.waitLine(p.stdout, "IPC_NATS_REPLICAS=", startTimeout)
	if replicas != "IPC_NATS_REPLICAS=1" {
		t.Fatalf("the replicas line is %q, want IPC_NATS_REPLICAS=1", replicas)
	}
	m := newMesh(t, store, replicas)
	m.mustRun("register", "bob")
	m.mustRun("register", "alice")
	m.mustRun("send", "--as", "alice", "bob", "on one node")
	wantIn(t, "check on one node", m.mustRun("check", "--as", "bob").stdout, "on one node")
	m.mustRun("stop")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh cluster exited %d after SIGTERM\nstderr:\n%s", code, p.stderr)
	}
}

// A second ipcmesh cluster of the same data folder is refused, naming the
// folder and --dir, and the first runs on unharmed: both clusters' nodes
// wrote the same JetStream files, and the first one's store came out
// damaged.
func TestClusterCommandRefusesAFolderInUse(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the command with SIGTERM, which Windows cannot send")
	}
	m := newMesh(t)
	p := m.start(nil, "cluster", "--nodes", "1")
	store := p.waitLine(p.stdout, "IPC_STORE=", startTimeout)

	r := m.run("cluster", "--nodes", "1")
	if r.code != 1 {
		t.Fatalf("a second ipcmesh cluster of the folder: want exit 1, got %s", r)
	}
	wantIn(t, "the second cluster's error", r.stderr, filepath.Join(m.dir, "cluster", "n1"), "in use by another NATS node", "--dir")

	// The first serves a mesh as before.
	mm := newMesh(t, store, "IPC_NATS_REPLICAS=1")
	mm.mustRun("register", "bob")
	mm.mustRun("send", "--as", "alice", "bob", "the first cluster serves")
	wantIn(t, "check on the first cluster", mm.mustRun("check", "--as", "bob").stdout, "the first cluster serves")
	mm.mustRun("stop")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(runTimeout); code != 0 {
		t.Fatalf("the first ipcmesh cluster exited %d after SIGTERM\nstderr:\n%s", code, p.stderr)
	}
}

// ipcmesh cluster started again on its folder binds the ports it had, so
// the IPC_STORE line it prints is the one it printed before, and a broker
// still running from then, which reconnects to those servers for ever,
// serves the mesh again without being told anything: with new ports,
// every broker's sends failed until it was restarted with a new line.
func TestClusterCommandRestartsOnItsPorts(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the command with SIGTERM, which Windows cannot send")
	}
	m := newMesh(t)
	first := m.start(nil, "cluster", "--nodes", "1")
	store := first.waitLine(first.stdout, "IPC_STORE=", startTimeout)
	host := newMesh(t, store, "IPC_NATS_REPLICAS=1")
	broker := host.startBroker()
	host.mustRun("register", "bob")
	host.mustRun("send", "--as", "alice", "bob", "before the restart")

	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh cluster exited %d after SIGTERM\nstderr:\n%s", code, first.stderr)
	}
	second := m.start(nil, "cluster", "--nodes", "1")
	if again := second.waitLine(second.stdout, "IPC_STORE=", startTimeout); again != store {
		t.Fatalf("ipcmesh cluster started again printed %s, want %s as before", again, store)
	}
	testbin.Eventually(t, 60*time.Second, "the broker of the last start to store a send", func() bool {
		return host.run("send", "--as", "alice", "bob", "after the restart").code == 0
	})
	got := host.check("--as", "bob")
	if len(got.Messages) < 2 || got.Messages[0].Content != "before the restart" || got.Messages[len(got.Messages)-1].Content != "after the restart" {
		t.Errorf("bob has %+v; want the message of before the restart and the one after", got.Messages)
	}
	if st := host.status(); st.Broker.PID != broker.pid() {
		t.Errorf("the mesh is served by broker %d, want %d, which ran through the restart", st.Broker.PID, broker.pid())
	}
	host.mustRun("stop")
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second.wait(runTimeout)
}

// ipcmesh cluster started again on its folder with another --nodes is
// refused, saying how many nodes the folder's cluster ran with: a cluster
// of three started with --nodes 1 served on n1 alone, and the sends it
// acked were gone once the three ran again.
func TestClusterCommandRefusesAnotherNumberOfNodes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the command with SIGTERM, which Windows cannot send")
	}
	m := newMesh(t)
	first := m.start(nil, "cluster", "--nodes", "1")
	first.waitLine(first.stdout, "IPC_STORE=", startTimeout)
	if err := first.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := first.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh cluster exited %d after SIGTERM\nstderr:\n%s", code, first.stderr)
	}
	msg := m.mustFail("cluster")
	wantIn(t, "ipcmesh cluster of 3 nodes on the folder of 1", msg, filepath.Join(m.dir, "cluster"), "ran with 1 node (n1)", "--nodes 1", "--dir")
}

func TestClusterCommandBoundsNodes(t *testing.T) {
	m := newMesh(t)
	for _, n := range []string{"0", "8"} {
		r := m.run("cluster", "--nodes", n)
		if r.code != 2 || !strings.Contains(r.stderr, "from 1 to 7") {
			t.Errorf("ipcmesh cluster --nodes %s: want exit 2 and the bound in the error, got %s", n, r)
		}
	}
}
