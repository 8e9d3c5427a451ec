package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
)

// Cluster mode: each "host" is a data folder and a port of its own, with
// its own election and broker, as two machines would have; their brokers
// keep the mesh in one NATS JetStream cluster of three nodes, embedded in
// the test process on loopback.

// hosts returns two hosts on nats, sharing a secret and a mesh prefix of
// their own; extra environment applies to both.
func hosts(t *testing.T, nats *cluster.Local, env ...string) (a, b *mesh) {
	t.Helper()
	common := append([]string{
		"IPC_STORE=" + nats.URL(),
		"IPC_NATS_PREFIX=" + natsmesh.Prefix(t, &natsMeshes),
		"IPC_SHARED_SECRET=cluster-test-secret-" + strconv.Itoa(freePort(t)),
	}, env...)
	return newMesh(t, common...), newMesh(t, common...)
}

// natsMeshes is the cluster shared by the tests that leave its nodes
// alone; a test that stops nodes starts its own.
var natsMeshes natstest.Cluster

func TestTwoHostsStreamExactlyOnceAcrossNodeAndBrokerLoss(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, b := hosts(t, nats)
	brokerA := a.startBroker()
	b.startBroker()
	receiver := b.start(nil, "watch", "--json", "--as", "reviewer")
	awaitOnline(t, a, "reviewer")

	const total = 5000
	var lines strings.Builder
	for i := 1; i <= total; i++ {
		fmt.Fprintf(&lines, "%d\n", i)
	}
	sender := a.start(strings.NewReader(lines.String()), "send", "--lines", "--as", "builder", "reviewer", "-")

	const nodeLossAt, brokerLossAt = 1000, 2500
	nodeLost, brokerLost := false, false
	order, count := readNumbered(t, receiver, sender, total, 4*time.Minute, func(n int) {
		if !nodeLost && n >= nodeLossAt {
			nats.Stop(1) // a NATS server dies: two of three keep quorum
			nodeLost = true
		}
		if !brokerLost && n >= brokerLossAt {
			if err := signalPID(brokerA.pid(), os.Kill); err != nil {
				t.Fatalf("kill -9 host A's broker: %v", err)
			}
			brokerLost = true
		}
	})
	if code := sender.wait(runTimeout); code != 0 {
		t.Fatalf("sender exited with status %d, want 0", code)
	}
	if !nodeLost || !brokerLost {
		t.Fatal("the stream ended before a node and a broker could be taken away")
	}
	for num, c := range count {
		if c != 1 {
			t.Errorf("number %d arrived %d times, want once", num, c)
		}
	}
	for i, num := range order {
		if num != i+1 {
			t.Errorf("message %d printed was number %d: the stream arrived out of order", i+1, num)
			break
		}
	}
	// Host A's broker was replaced by one its peers started; host B's
	// counts are the mesh's.
	testbin.Eventually(t, 30*time.Second, "the receiver's acks to leave nothing unread", func() bool {
		return counted(b.status().Unread) == 0
	})
	if st := b.status(); counted(st.Messages) != total {
		t.Errorf("the mesh holds %d messages, want %d: a retried send was stored twice or lost", counted(st.Messages), total)
	}
	if st := a.status(); st.Broker.PID == brokerA.pid() || counted(st.Messages) != total {
		t.Errorf("host A: broker pid %d (the killed one was %d), %d messages; want a new broker seeing all %d", st.Broker.PID, brokerA.pid(), counted(st.Messages), total)
	}
}

// awaitOnline waits until m's list shows name online.
func awaitOnline(t *testing.T, m *mesh, name string) {
	t.Helper()
	testbin.Eventually(t, 30*time.Second, name+" listed online on "+m.addr(), func() bool {
		var list []ipcmesh.Instance
		m.mustJSON(&list, "list", "--json")
		for _, in := range list {
			if in.Name == name && in.Online {
				return true
			}
		}
		return false
	})
}

func TestRenameForwardAndChannelsAcrossHosts(t *testing.T) {
	t.Parallel()
	a, b := hosts(t, natsMeshes.Get(t))
	a.startBroker()
	b.startBroker()
	a.mustRun("register", "alice")
	b.mustRun("register", "bob")
	a.mustRun("rename", "--as", "alice", "alice2")

	r := b.mustRun("send", "--as", "bob", "alice", "for the old name")
	if !strings.Contains(r.stdout, "alice2") {
		t.Errorf("send to a name renamed on another host printed %q; want it to say it went to alice2", r.stdout)
	}
	got := a.check("--as", "alice2")
	if len(got.Messages) != 1 || got.Messages[0].Content != "for the old name" || got.Messages[0].SentTo != "alice" {
		t.Fatalf("alice2 on host A has %+v; want bob's message sent to alice", got.Messages)
	}

	a.mustRun("channels", "create", "ops", "--as", "alice2", "--members", "bob")
	b.mustRun("send", "--as", "bob", "#ops", "deploy at noon")
	got = a.check("--as", "alice2")
	if len(got.Messages) != 1 || got.Messages[0].Content != "deploy at noon" || got.Messages[0].Channel != "ops" {
		t.Fatalf("alice2 on host A has %+v; want bob's post to #ops", got.Messages)
	}

	// status says where the cluster's log stands: every event so far,
	// no copy of the views yet.
	if l := a.status().Log; l == nil || l.First != 1 || l.Last < 6 || l.Bytes == 0 || l.Applied < 6 || l.Copy != 0 || l.Every != natsstore.DefaultSnapshotEvery {
		t.Errorf("status --json on a cluster host: log %+v; want events 1 to at least 6, and no copy yet of one every %d", l, natsstore.DefaultSnapshotEvery)
	}
	// And which cluster it is: a person with several meshes or clusters
	// about checks that first.
	if c := a.status().Cluster; c == nil || !strings.HasPrefix(c.Stream, a.setting("IPC_NATS_PREFIX")) || c.Replicas != 3 || c.Servers != a.setting("IPC_STORE") || !strings.Contains(c.Servers, c.Connected) || c.Connected == "" {
		t.Errorf("status --json on a cluster host: cluster %+v; want the stream of prefix %s, 3 replicas, the servers %s and the one connected to", c, a.setting("IPC_NATS_PREFIX"), a.setting("IPC_STORE"))
	}
	out := b.mustRun("status").stdout
	wantIn(t, "status on a cluster host", out, "cluster:      stream "+b.setting("IPC_NATS_PREFIX"), " (3 replicas) on "+b.setting("IPC_STORE")+", connected to nats://127.0.0.1:")
	if !regexp.MustCompile(`(?m)^log:          events 1 to \d+ \(\d[^)]*\), (all applied here|this broker's view at event \d+); no copy of the views yet \(one is made every 100000 events`).MatchString(out) {
		t.Errorf("status on a cluster host printed %q; want a log: line with events from 1 and no copy yet", out)
	}
}

// status says when a server that keeps the log is down: the mesh works as
// before, with a server fewer to spare, and nothing told the person
// running it that one more loss would stop every write. Once the server is
// back and has caught up, the log: line is as before.
func TestStatusSaysWhenAServerOfTheLogIsDown(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	a.startBroker()
	a.mustRun("send", "--as", "dave", "carol", "before")
	name := nats.Node(1).Name()
	nats.Stop(1)
	a.mustRun("send", "--as", "dave", "carol", "with a server down")
	down := "only 2 of the 3 servers that keep it are current (" + name + " is down, cut off or catching up): one more lost stops every write"
	var out string
	testbin.Eventually(t, 30*time.Second, "status to say that "+name+" is down", func() bool {
		out = a.mustRun("status").stdout
		return strings.Contains(out, down)
	})
	if err := nats.Restart(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	testbin.Eventually(t, 60*time.Second, "status to say the log is whole again once "+name+" is back", func() bool {
		out = a.mustRun("status").stdout
		return strings.Contains(out, "all applied here; no copy") && !strings.Contains(out, "servers that keep it")
	})
}

func TestClusterWithoutQuorumRefusesAndRecovers(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	a.startBroker()
	a.mustRun("register", "carol")
	a.mustRun("send", "--as", "dave", "carol", "before")

	nats.Stop(0)
	nats.Stop(2)
	// A command acts as its name on this host first: that is what fails.
	msg := a.mustFail("send", "--as", "dave", "carol", "during")
	if !strings.Contains(msg, "could not hold the name dave") || !strings.Contains(msg, "quorum") || !strings.Contains(msg, "nothing was acknowledged") || strings.Contains(msg, "same id") {
		t.Errorf("a send without quorum said %q; want it to say the name could not be held, the cluster has no quorum and nothing was acknowledged, and nothing of a message's id (no message was sent)", msg)
	}
	// status answers all the same, from the view, and says that the
	// cluster cannot give the log's state now, and why, or, where the
	// server left still says where the log stands, that it is one of
	// too few for a quorum: the counts look as ever while every write
	// fails.
	if r := a.mustRun("status"); !regexp.MustCompile(`(?m)^instances:    [1-9]\d* registered$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^log:          (unknown: .*no quorum.*writes fail|.*too few for a quorum: writes fail)`).MatchString(r.stdout) ||
		!strings.Contains(r.stdout, "cluster:      stream "+a.setting("IPC_NATS_PREFIX")) {
		t.Errorf("status without quorum printed %q; want the view's counts, the cluster named, and a log: line saying the cluster has no quorum and writes fail", r.stdout)
	}
	for _, i := range []int{0, 2} {
		if err := nats.Restart(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	testbin.Eventually(t, 60*time.Second, "a send to be acked once quorum is back", func() bool {
		return a.run("send", "--as", "dave", "carol", "after").code == 0
	})
	got := a.check("--as", "carol")
	var contents []string
	for _, m := range got.Messages {
		contents = append(contents, m.Content)
	}
	// "during" was refused and not resent; it may still be stored if the
	// leader had written it before losing quorum, but nothing acked is
	// missing and nothing is stored twice.
	all := strings.Join(contents, ",")
	if strings.Count(all, "before") != 1 || strings.Count(all, "after") < 1 || strings.Count(all, "during") > 1 {
		t.Errorf("carol has %q; want before once, after, and during at most once", contents)
	}
}

// TestClusterDownSaysTheBrokerIsNotConnected: with every server of the
// cluster down, a command's write fails saying that the broker is
// connected to none of them, not that the cluster has no quorum or is
// electing a leader, which sends a person after the wrong fault: the
// client library holds a request while it reconnects, and only its
// timeout came back. Once the servers are back, writes are acked again.
func TestClusterDownSaysTheBrokerIsNotConnected(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	a.startBroker()
	a.mustRun("send", "--as", "dave", "carol", "before")
	for i := range 3 {
		nats.Stop(i)
	}
	msg := a.mustFail("send", "--as", "dave", "carol", "during")
	if !strings.Contains(msg, "this broker is not connected to the NATS cluster (its servers are down or unreachable)") || strings.Contains(msg, "quorum") || !strings.Contains(msg, "nothing was acknowledged") {
		t.Errorf("a send with every server of the cluster down said %q; want it to say the broker is connected to none of them, nothing of a quorum, and that nothing was acknowledged", msg)
	}
	for i := range 3 {
		if err := nats.Restart(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	testbin.Eventually(t, 60*time.Second, "a send to be acked once the servers are back", func() bool {
		return a.run("send", "--as", "dave", "carol", "after").code == 0
	})
}

// TestCommandWaitsForItsBrokerToReachTheCluster: a command that starts the
// broker of a host whose cluster has no quorum waits for that broker as
// long as the broker tries to reach the cluster (a minute), as the README
// says, rather than kill it after 20 s and point at an empty log. Once the
// quorum is back within that time, the command goes through.
func TestCommandWaitsForItsBrokerToReachTheCluster(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	nats.Stop(0)
	nats.Stop(2)
	register := a.start(nil, "register", "carol")
	// The time must pass, past the 20 s a peer once gave the broker it
	// started; nothing is awaited by it.
	time.Sleep(25 * time.Second)
	for _, i := range []int{0, 2} {
		if err := nats.Restart(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	if code := register.wait(runTimeout); code != 0 {
		t.Fatalf("register, started while the cluster had no quorum, exited %d once it was back: %s", code, register.stderr.String())
	}
	a.mustRun("send", "--as", "dave", "carol", "through the broker that waited")
}

// TestRestoreOnAClusterHostSaysWhereTheMeshIs: restore writes the data
// folder's own store, which a broker on a cluster neither serves nor locks.
// On a host whose mesh is in a cluster, by IPC_STORE or by what the folder
// recorded, it is refused and says how to restore into the local store;
// with IPC_STORE=bbolt it does that.
func TestRestoreOnAClusterHostSaysWhereTheMeshIs(t *testing.T) {
	t.Parallel()
	a, _ := hosts(t, natsMeshes.Get(t))
	broker := a.startBroker()
	a.mustRun("send", "--as", "dave", "carol", "kept in the cluster")
	backup := filepath.Join(t.TempDir(), "mesh.backup")
	a.mustRun("backup", backup)
	if msg := a.mustFail("restore", backup); !strings.Contains(msg, "NATS cluster") || !strings.Contains(msg, "IPC_STORE=bbolt") {
		t.Errorf("restore on a host serving a cluster said %q; want it to name the cluster and IPC_STORE=bbolt", msg)
	}
	broker.interrupt()
	broker.wait(runTimeout)

	recorded := *a
	recorded.env = nil
	for _, kv := range a.env {
		if !strings.HasPrefix(kv, "IPC_STORE=") {
			recorded.env = append(recorded.env, kv)
		}
	}
	if msg := recorded.mustFail("restore", backup); !strings.Contains(msg, "IPC_STORE=bbolt") {
		t.Errorf("restore without IPC_STORE in a folder that recorded its cluster said %q; want it to name IPC_STORE=bbolt", msg)
	}
	if r := a.withEnv("IPC_STORE=bbolt").mustRun("restore", backup); !strings.Contains(r.stdout, "1 message") {
		t.Errorf("restore with IPC_STORE=bbolt printed %q; want the backup's message restored", r.stdout)
	}
}

func TestClusterRestartKeepsUnread(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, b := hosts(t, nats)
	brokerA, brokerB := a.startBroker(), b.startBroker()
	b.mustRun("register", "carol")
	for i := 1; i <= 5; i++ {
		a.mustRun("send", "--as", "dave", "carol", fmt.Sprintf("note %d of 5", i))
	}
	for _, p := range []*proc{brokerA, brokerB} {
		p.interrupt()
		p.wait(runTimeout)
	}
	for i := range nats.Len() {
		nats.Stop(i)
	}
	for i := range nats.Len() {
		if err := nats.Restart(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	a.startBroker()
	b.startBroker()
	got := b.check("--as", "carol")
	if len(got.Messages) != 5 || got.Messages[0].Content != "note 1 of 5" {
		t.Fatalf("after restarting everything carol has %+v; want the 5 notes", got.Messages)
	}
}

// A broker whose node comes back under another name (--nats-cluster
// spelled another way, which the default name is made of) is refused,
// saying which name its data folder's node had: JetStream took it for a
// new member of the cluster, and its old self stayed a member that never
// answers, counting against the quorum for good.
func TestBrokerNodeUnderAnotherNameIsRefused(t *testing.T) {
	t.Parallel()
	ports := freePorts(t, 2)
	m := newMesh(t, "IPC_NATS_REPLICAS=1").withPort(ports[0])
	node := "127.0.0.1:" + strconv.Itoa(ports[1])
	first := m.start(nil, "broker", "--nats-node", node, "--nats-name", "host1")
	first.waitLine(first.stdout, "ipcmesh broker serving", startTimeout)
	first.interrupt()
	if code := first.wait(runTimeout); code != 0 {
		t.Fatalf("the broker exited %d after an interrupt\nstderr:\n%s", code, first.stderr)
	}
	msg := m.mustFail("broker", "--nats-node", node)
	wantIn(t, "a broker whose node has another name than its data folder's", msg,
		filepath.Join(m.dir, "nats-node"), "the node named host1, not ipcmesh-"+strconv.Itoa(ports[1]), "--nats-name host1")
}

// A node address the other nodes cannot use is refused before anything
// starts. With 0.0.0.0 every host's node took the name 0-0-0-0-6222, and
// nodes of one name refuse each other's routes, so the cluster never
// formed; a loopback address (127.0.0.1, or a name that resolves to one)
// routed to the nodes of other hosts is one they cannot reach. Either way
// each broker waited a minute, then said only that the cluster did not
// answer.
func TestBrokerRefusesANodeAddressOthersCannotRouteTo(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	// Were an address let through, its node would fail at its folder
	// rather than bind every interface of the machine or route out of it.
	if err := os.WriteFile(filepath.Join(m.dir, "nats-node"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		node, peer string
		want       []string
	}{
		{"0.0.0.0:4222", "0.0.0.0:6222", []string{"--nats-node 0.0.0.0:4222", "this host's own address", "never form a cluster"}},
		{"127.0.0.1:4222", "127.0.0.1:6222", []string{"--nats-cluster 127.0.0.1:6222", "loopback", "192.0.2.2:6222", "this host's own address"}},
		{"localhost:4222", "localhost:6222", []string{"--nats-cluster localhost:6222", "which resolves to", "loopback", "192.0.2.2:6222"}},
	} {
		msg := m.mustMisuse("broker", "--nats-node", tc.node, "--nats-cluster", tc.peer, "--nats-routes", "192.0.2.2:6222")
		wantIn(t, "broker --nats-node "+tc.node, msg, tc.want...)
	}
}

// nodeHost is a host whose broker runs a node of the mesh's NATS cluster
// in its own process, as on a machine with nothing else installed.
type nodeHost struct {
	m            *mesh
	client, peer string // the node's client and route addresses
	broker       *proc
}

// startBrokers starts the brokers of hs, each with its node routed to the
// others', and waits until they serve: all three nodes are needed for the
// cluster's first three-replica stream.
func startBrokers(hs []*nodeHost, extra ...[]string) {
	for i, h := range hs {
		var routes []string
		for j, o := range hs {
			if j != i {
				routes = append(routes, o.peer)
			}
		}
		args := []string{"broker", "--nats-node", h.client, "--nats-cluster", h.peer, "--nats-routes", strings.Join(routes, ",")}
		if i < len(extra) {
			args = append(args, extra[i]...)
		}
		h.broker = h.m.start(nil, args...)
	}
	for _, h := range hs {
		h.broker.waitLine(h.broker.stdout, "ipcmesh broker serving", 90*time.Second)
	}
}

// nodeHosts returns n hosts sharing secret, on ports of their own.
func nodeHosts(t *testing.T, secret string, n int) []*nodeHost {
	ports := freePorts(t, 3*n)
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	var hs []*nodeHost
	for i := range n {
		hs = append(hs, &nodeHost{m: newMesh(t, secret).withPort(ports[3*i]), client: addr(3*i + 1), peer: addr(3*i + 2)})
	}
	return hs
}

// Three hosts, each running its broker with a node of the NATS cluster in
// the same process, as on real machines with nothing else installed.
func TestBrokersRunTheirOwnNATSNodes(t *testing.T) {
	t.Parallel()
	hs := nodeHosts(t, "IPC_SHARED_SECRET=nats-node-test-"+strconv.Itoa(freePort(t)), 3)
	startBrokers(hs)
	for _, h := range hs {
		if !strings.Contains(h.broker.stdout.String(), "NATS JetStream node") {
			t.Errorf("the broker did not say it runs a NATS node: %q", h.broker.stdout.String())
		}
	}
	hs[2].m.mustRun("register", "carol")
	hs[0].m.mustRun("send", "--as", "dave", "carol", "through three nodes")
	got := hs[2].m.check("--as", "carol")
	if len(got.Messages) != 1 || got.Messages[0].Content != "through three nodes" {
		t.Fatalf("carol on the third host has %+v; want dave's message from the first", got.Messages)
	}
}

// A host lost for good, its disk with it, is replaced by a new machine
// that runs its node under the lost one's name (README, Cluster mode): the
// cluster takes it for the member it lost and brings it the log, so that
// the mesh may lose a node again and go on. Under a name of its own it
// would join as a fourth member, the lost one still counted against the
// quorum, and the next loss would stop every write.
func TestLostHostIsReplacedUnderItsNodeName(t *testing.T) {
	t.Parallel()
	secret := "IPC_SHARED_SECRET=nats-node-test-" + strconv.Itoa(freePort(t))
	hs := nodeHosts(t, secret, 4)
	lost, heir := hs[2], hs[3]
	startBrokers(hs[:3])
	hs[0].m.mustRun("register", "alice")
	lost.m.mustRun("send", "--as", "carol", "alice", "before the loss")

	if err := signalPID(lost.broker.pid(), os.Kill); err != nil {
		t.Fatalf("kill -9 the lost host's broker: %v", err)
	}
	lost.broker.wait(runTimeout)
	hs[0].m.mustRun("send", "--as", "dave", "alice", "while it was gone")
	testbin.Eventually(t, 60*time.Second, "status to say a server of the log is down", func() bool {
		return strings.Contains(hs[0].m.mustRun("status").stdout, "one more lost stops every write")
	})

	// The new machine: another data folder, other addresses, the lost
	// node's name (by default the host and port of its --nats-cluster).
	_, port, _ := strings.Cut(lost.peer, ":")
	heir.broker = heir.m.start(nil, "broker", "--nats-node", heir.client, "--nats-cluster", heir.peer,
		"--nats-routes", hs[0].peer+","+hs[1].peer, "--nats-name", "127-0-0-1-"+port)
	heir.broker.waitLine(heir.broker.stdout, "ipcmesh broker serving", 90*time.Second)
	testbin.Eventually(t, 90*time.Second, "status to say the log is whole again", func() bool {
		out := hs[0].m.mustRun("status").stdout
		return strings.Contains(out, "all applied here") && !strings.Contains(out, "servers that keep it")
	})

	if err := signalPID(hs[1].broker.pid(), os.Kill); err != nil {
		t.Fatalf("kill -9 the second host's broker: %v", err)
	}
	hs[1].broker.wait(runTimeout)
	heir.m.mustRun("send", "--as", "erin", "alice", "after a second loss")
	var got []string
	for _, m := range hs[0].m.check("--as", "alice").Messages {
		got = append(got, m.Content)
	}
	if want := []string{"before the loss", "while it was gone", "after a second loss"}; !slices.Equal(got, want) {
		t.Errorf("alice has %q, want %q", got, want)
	}
}

// A broker started with --store records the cluster in its data folder: a
// peer that takes over without IPC_STORE in its environment serves the
// same mesh rather than a store of its own.
func TestTakeoverRemembersTheCluster(t *testing.T) {
	t.Parallel()
	nats := natsMeshes.Get(t)
	env := []string{"IPC_NATS_PREFIX=" + natsmesh.Prefix(t, &natsMeshes), "IPC_SHARED_SECRET=remember-" + strconv.Itoa(freePort(t))}
	a := newMesh(t, env...)
	b := newMesh(t, append(env, "IPC_STORE="+nats.URL())...)
	brokerA := a.start(nil, "broker", "--store", nats.URL())
	brokerA.waitLine(brokerA.stdout, "serving", startTimeout)
	if !strings.Contains(brokerA.stdout.String(), "NATS JetStream cluster") {
		t.Errorf("the broker's banner does not name its store: %q", brokerA.stdout.String())
	}
	b.startBroker()
	b.mustRun("register", "carol")
	if err := signalPID(brokerA.pid(), os.Kill); err != nil {
		t.Fatal(err)
	}
	brokerA.wait(runTimeout)
	// No IPC_STORE here: this send starts host A's next broker.
	a.mustRun("send", "--as", "dave", "carol", "after the takeover")
	got := b.check("--as", "carol")
	if len(got.Messages) != 1 || got.Messages[0].Content != "after the takeover" {
		t.Fatalf("carol on host B has %+v; want the message sent through host A's new broker", got.Messages)
	}
}

// Two hosts not given IPC_SHARED_SECRET each make a secret of their own.
// The second host's broker is refused by the cluster, saying why, rather
// than take the first host's names and read their mail; given the first
// host's secret it serves. `broker --new-secret` changes the mesh's secret
// on purpose, after which the secret before is refused.
func TestClusterHostWithAnotherSecretIsRefused(t *testing.T) {
	t.Parallel()
	nats := natsMeshes.Get(t)
	env := []string{"IPC_STORE=" + nats.URL(), "IPC_NATS_PREFIX=" + natsmesh.Prefix(t, &natsMeshes)}
	a, b := newMesh(t, env...), newMesh(t, env...)
	brokerA := a.startBroker()
	a.mustRun("register", "reviewer")
	a.mustRun("send", "--as", "builder", "reviewer", "the plans")

	msg := b.mustFail("check", "--as", "reviewer")
	for _, want := range []string{"another shared secret", "IPC_SHARED_SECRET is unset here", filepath.Join(b.dir, "secret"), "--new-secret"} {
		if !strings.Contains(msg, want) {
			t.Errorf("check on a host with a secret of its own: %q; want it to say %q", msg, want)
		}
	}
	if got := a.check("--as", "reviewer", "--peek"); len(got.Messages) != 1 {
		t.Fatalf("reviewer on host A has %+v after host B was refused; want builder's message, unread", got.Messages)
	}

	// The same secret: host B serves.
	data, err := os.ReadFile(filepath.Join(a.dir, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	c := newMesh(t, env...)
	if err := os.WriteFile(filepath.Join(c.dir, "secret"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	c.mustRun("send", "--as", "carol", "reviewer", "from host C")
	if got := a.check("--as", "reviewer"); len(got.Messages) != 2 {
		t.Fatalf("reviewer on host A has %+v; want builder's and carol's messages", got.Messages)
	}

	// The mesh's secret changed on purpose, once host A's broker stopped.
	brokerA.interrupt()
	brokerA.wait(runTimeout)
	brokerB := b.start(nil, "broker", "--new-secret")
	brokerB.waitLine(brokerB.stdout, "serving", startTimeout)
	b.mustRun("send", "--as", "dave", "reviewer", "under the new secret")
	if msg := a.mustFail("check", "--as", "reviewer"); !strings.Contains(msg, "another shared secret") {
		t.Errorf("check on host A after the mesh's secret changed: %q; want it refused for its secret", msg)
	}
}
