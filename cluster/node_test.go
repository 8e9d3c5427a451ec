package cluster_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/cluster"
)

// A node on its own picks free ports, says which, keeps its data in its
// folder, and comes back on the same port with the same data.
func TestNodeRestartsOnItsPortWithItsData(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "n1")
	n, err := cluster.StartNode(ctx, cluster.NodeConfig{Name: "n1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Shutdown)
	if n.Port() == 0 {
		t.Fatal("Port is 0 after start")
	}
	notEphemeral(t, n.Port())
	if want := "nats://127.0.0.1:" + strconv.Itoa(n.Port()); n.ClientURL() != want {
		t.Errorf("ClientURL %q, want %q", n.ClientURL(), want)
	}
	if n.RouteURL() != "" || n.ClusterPort() != 0 {
		t.Errorf("a node without routes has RouteURL %q, ClusterPort %d; want none", n.RouteURL(), n.ClusterPort())
	}
	if fi, err := os.Stat(dir); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
		t.Errorf("data folder: %v, %v; want mode 0700", fi.Mode(), err)
	}

	js := connect(t, n.ClientURL())
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "TEST", Subjects: []string{"test.>"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "test.one", []byte("one")); err != nil {
		t.Fatal(err)
	}

	// A request written before the client has noticed that its server
	// went away is lost with the old connection, and would wait out the
	// whole context for its reply: the test asks only once the client
	// says it is back.
	back := make(chan struct{}, 1)
	js.Conn().SetReconnectHandler(func(*nats.Conn) {
		select {
		case back <- struct{}{}:
		default:
		}
	})
	cfg := n.Config()
	n.Shutdown()
	n2, err := cluster.StartNode(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	t.Cleanup(n2.Shutdown)
	if n2.Port() != n.Port() {
		t.Errorf("restarted on port %d, want %d", n2.Port(), n.Port())
	}
	// The client reconnects to the same URL by itself.
	select {
	case <-back:
	case <-ctx.Done():
		t.Fatalf("the client did not reconnect to %s: %v", n2.ClientURL(), ctx.Err())
	}
	stream, err := js.Stream(ctx, "TEST")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.GetMsg(ctx, 1); err != nil || string(m.Data) != "one" {
		t.Errorf("message 1 after restart: %v, %v; want \"one\"", m, err)
	}
}

// A node that cannot bind its port fails at once, naming itself, instead
// of waiting out its start timeout or exiting the process.
func TestNodeFailsFastWhenItsPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "n1", Dir: t.TempDir(), Port: port})
	if err == nil {
		t.Fatal("started on a port that is taken")
	}
	// A node that missed the failed bind would wait out its start
	// timeout and say so; how long the failure took says nothing on a
	// busy machine.
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waited out the start timeout: %v; want the failed bind", err)
	}
	t.Log(err)
	want := "start NATS node n1 on 127.0.0.1:" + strconv.Itoa(port)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q; want it to begin %q", err, want)
	}
}

func TestNodeConfigErrors(t *testing.T) {
	for _, cfg := range []cluster.NodeConfig{
		{Dir: t.TempDir()},
		{Name: "n1"},
		{Name: "n1", Dir: t.TempDir(), Routes: []string{"127.0.0.1:4248"}},
	} {
		if n, err := cluster.StartNode(t.Context(), cfg); err == nil {
			n.Shutdown()
			t.Errorf("StartNode(%+v) started", cfg)
		}
	}
}

// Two nodes never run on one data folder: the second would write the
// first one's JetStream files under it (a second "ipcmesh cluster" of the
// same data folder did, and the first cluster's store came out damaged).
// The second is refused, naming the folder; once the first stops, the
// folder is free again.
func TestNodeRefusesAFolderInUse(t *testing.T) {
	dir := t.TempDir()
	first, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "n1", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	second, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "n1", Dir: dir})
	if err == nil {
		second.Shutdown()
		first.Shutdown()
		t.Fatal("a second node started on the data folder of a running one")
	}
	for _, want := range []string{dir, "in use by another NATS node", "stop it"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the second node's error %q; want it to say %q", err, want)
		}
	}
	first.Shutdown()
	again, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "n1", Dir: dir})
	if err != nil {
		t.Fatalf("start on the folder of a node that stopped: %v", err)
	}
	again.Shutdown()
}

// A node started on the data folder of a node of another name is refused,
// naming both: JetStream knows a cluster's members by their names, and a
// node that came back under another (its route address spelled another
// way) joined as a new member, leaving its old self a member that never
// answers, which counted against the cluster's quorum for good. Under
// its own name it starts.
func TestNodeRefusesTheFolderOfAnotherName(t *testing.T) {
	dir := t.TempDir()
	first, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "host1-6222", Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	first.Shutdown()
	other, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "10-0-0-1-6222", Dir: dir})
	if err == nil {
		other.Shutdown()
		t.Fatal("a node started on the data folder of a node of another name")
	}
	var name *cluster.NodeNameError
	if !errors.As(err, &name) || name.Had != "host1-6222" || name.Want != "10-0-0-1-6222" {
		t.Fatalf("start under another name: %v; want a NodeNameError from host1-6222 to 10-0-0-1-6222", err)
	}
	for _, want := range []string{dir, "the node named host1-6222, not 10-0-0-1-6222", "quorum"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start under another name: %q; want it to say %q", err, want)
		}
	}
	again, err := cluster.StartNode(t.Context(), cluster.NodeConfig{Name: "host1-6222", Dir: dir})
	if err != nil {
		t.Fatalf("start again under its own name: %v", err)
	}
	again.Shutdown()
}
