package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/cluster"
)

// Bounds that turn a hang into a failure; none of them decides whether
// something was fast enough. A raft election waits 4 to 9 s, so a test
// that makes the cluster elect twice needs most of its budget.
const (
	testTimeout = 50 * time.Second
	ackWithin   = 20 * time.Second // for a publish to ack again after a node stops or comes back
	noQuorumTry = 2 * time.Second  // how long a publish without quorum is given
)

func startLocal(t *testing.T, ctx context.Context, n int) *cluster.Local {
	t.Helper()
	l, err := cluster.StartLocal(ctx, t.TempDir(), n, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	return l
}

func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// publisher publishes numbered messages and remembers which were acked.
// Each message has a message ID, so that retrying one whose ack was lost
// cannot store it twice.
type publisher struct {
	t     *testing.T
	js    jetstream.JetStream
	next  int
	tried int               // messages sent, acked or not
	acked map[uint64]string // stream sequence -> payload
}

func newPublisher(t *testing.T, js jetstream.JetStream) *publisher {
	return &publisher{t: t, js: js, acked: make(map[uint64]string)}
}

// try publishes the next message once, giving it d.
func (p *publisher) try(ctx context.Context, d time.Duration) (string, error) {
	p.next++
	payload := "m" + strconv.Itoa(p.next)
	p.tried++
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	ack, err := p.js.Publish(ctx, "test.msgs", []byte(payload), jetstream.WithMsgID(payload))
	if err != nil {
		return payload, err
	}
	p.acked[ack.Sequence] = payload
	return payload, nil
}

// mustAck publishes the next message, retrying it under its ID until it is
// acked or within has passed, and returns how long that took.
func (p *publisher) mustAck(ctx context.Context, within time.Duration) time.Duration {
	p.t.Helper()
	p.next++
	payload := "m" + strconv.Itoa(p.next)
	p.tried++
	start := time.Now()
	deadline := start.Add(within)
	for {
		try, cancel := context.WithTimeout(ctx, 2*time.Second)
		ack, err := p.js.Publish(try, "test.msgs", []byte(payload), jetstream.WithMsgID(payload))
		cancel()
		if err == nil {
			p.acked[ack.Sequence] = payload
			return time.Since(start)
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			p.t.Fatalf("publish %s: no ack within %v: %v", payload, within, err)
		}
	}
}

// A three-node cluster keeps acking with one node down, stops acking with
// two down, acks again once they are back, and has lost no acked message.
// How a publish without quorum fails depends on which node is left: a
// follower has no stream leader to answer (no responders, which nats.go
// reports as ErrNoStreamResponse at once), while a leader left alone takes
// the message but cannot commit it and never answers, so the publish runs
// out of time.
func TestLocalKeepsAckedMessagesThroughLossOfQuorum(t *testing.T) {
	for _, tc := range []struct {
		name     string
		leftOver string // which node of the last two stays up
		want     error
	}{
		{"follower left", "follower", jetstream.ErrNoStreamResponse},
		{"leader left", "leader", context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testLossOfQuorum(t, tc.leftOver == "leader", tc.want)
		})
	}
}

func testLossOfQuorum(t *testing.T, keepLeader bool, want error) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	l := startLocal(t, ctx, 3)
	js := connect(t, l.URL())
	stream, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name:     "TEST",
		Subjects: []string{"test.>"},
		Replicas: 3,
		Storage:  jetstream.FileStorage,
	})
	if err != nil {
		t.Fatalf("create an R3 stream: %v", err)
	}
	p := newPublisher(t, js)
	p.mustAck(ctx, ackWithin)

	// The stream's leader is the node whose loss costs the most: the other
	// two must have a new one to carry on with a quorum of two.
	first := streamLeader(t, ctx, l, stream)
	name := l.Node(first).Name()
	l.Stop(first)
	t.Logf("stream leader %s stopped: acked again after %v", name, p.mustAck(ctx, ackWithin).Round(time.Millisecond))
	for range 2 {
		p.mustAck(ctx, ackWithin)
	}

	second := streamLeader(t, ctx, l, stream)
	if keepLeader {
		second = 3 - first - second // the follower
	}
	l.Stop(second)
	start := time.Now()
	payload, err := p.try(ctx, noQuorumTry)
	took := time.Since(start)
	if err == nil {
		t.Fatalf("publish %s with one node of three up was acked", payload)
	}
	t.Logf("publish without quorum failed after %v: %v", took.Round(time.Millisecond), err)
	// Which error depends on whether the node left over leads the stream
	// when its peers go (nobody commits: the deadline passes) or not
	// (nobody answers); a follower may also win an election with the
	// departing leader's vote, so want is only the likely one.
	if !errors.Is(err, want) && !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("publish without quorum: got %v (%T), want %v or %v", err, err, jetstream.ErrNoStreamResponse, context.DeadlineExceeded)
	}

	for _, i := range []int{first, second} {
		if err := l.Restart(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("both nodes restarted: acked again after %v", p.mustAck(ctx, ackWithin).Round(time.Millisecond))
	for range 2 {
		p.mustAck(ctx, ackWithin)
	}

	state := streamState(t, ctx, stream)
	// A publish that got no ack may still be stored: a leader left alone
	// logs it, and commits it once the others are back. An acked one must
	// be there.
	if got, min, max := state.Msgs, uint64(len(p.acked)), uint64(p.tried); got < min || got > max {
		t.Errorf("the stream holds %d messages; want from %d (acked) to %d (sent)", got, min, max)
	}
	for seq, want := range p.acked {
		m, err := stream.GetMsg(ctx, seq)
		if err != nil {
			t.Errorf("get acked message %d (%s): %v", seq, want, err)
			continue
		}
		if string(m.Data) != want {
			t.Errorf("message %d: got %q, want %q", seq, m.Data, want)
		}
	}
}

// streamLeader is the index of the node that leads stream.
func streamLeader(t *testing.T, ctx context.Context, l *cluster.Local, stream jetstream.Stream) int {
	t.Helper()
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatalf("stream info: %v", err)
	}
	if info.Cluster == nil {
		t.Fatal("stream info: no cluster section")
	}
	return nodeIndex(t, l, info.Cluster.Leader)
}

// streamState reads the stream's state from its leader, retrying while a
// restarted cluster settles.
func streamState(t *testing.T, ctx context.Context, stream jetstream.Stream) jetstream.StreamState {
	t.Helper()
	for {
		info, err := stream.Info(ctx)
		if err == nil {
			return info.State
		}
		if ctx.Err() != nil {
			t.Fatalf("stream info: %v", err)
		}
	}
}

func nodeIndex(t *testing.T, l *cluster.Local, name string) int {
	t.Helper()
	for i := range l.Len() {
		if n := l.Node(i); n != nil && n.Name() == name {
			return i
		}
	}
	t.Fatalf("no running node is named %q", name)
	return -1
}

func TestLocalCloseFreesPorts(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	l, err := cluster.StartLocal(ctx, t.TempDir(), 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	var ports []int
	for i := range l.Len() {
		n := l.Node(i)
		ports = append(ports, n.Port(), n.ClusterPort())
		if want := fmt.Sprintf("nats://127.0.0.1:%d", n.Port()); n.ClientURL() != want {
			t.Errorf("node %s: ClientURL %q, want %q", n.Name(), n.ClientURL(), want)
		}
		if want := fmt.Sprintf("nats-route://127.0.0.1:%d", n.ClusterPort()); n.RouteURL() != want {
			t.Errorf("node %s: RouteURL %q, want %q", n.Name(), n.RouteURL(), want)
		}
	}
	if got := strings.Count(l.URL(), "nats://127.0.0.1:"); got != 3 {
		t.Errorf("URL %q: want the three client URLs", l.URL())
	}
	notEphemeral(t, ports...)
	l.Close()
	l.Close() // idempotent
	for _, port := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d after Close: %v", port, err)
			continue
		}
		ln.Close()
	}
}

// A local cluster started again on its folder with another number of
// nodes is refused, naming how many it ran with: run with one node, n1
// served on its own and took writes that n2 and n3 dropped once the
// three ran again, acked sends of a mesh among them; with fewer, the
// nodes left out stayed members that never answer; with more, the nodes
// added stayed members for good. With the number it had, it starts.
func TestLocalRefusesAnotherNumberOfNodes(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	dir := t.TempDir()
	l, err := cluster.StartLocal(ctx, dir, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	for _, n := range []int{1, 2, 4} {
		other, err := cluster.StartLocal(ctx, dir, n, nil)
		if err == nil {
			other.Close()
			t.Fatalf("a local cluster of 3 nodes started again with %d", n)
		}
		var count *cluster.NodeCountError
		if !errors.As(err, &count) || count.Had != 3 || count.Want != n {
			t.Fatalf("started again with %d nodes: %v; want a NodeCountError of 3 nodes", n, err)
		}
		for _, want := range []string{dir, "3 nodes (n1 to n3)", "IPC_STORE line"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("started again with %d nodes: %q; want it to say %q", n, err, want)
			}
		}
	}
	again, err := cluster.StartLocal(ctx, dir, 3, nil)
	if err != nil {
		t.Fatalf("start again with the 3 nodes it had: %v", err)
	}
	again.Close()
}

// notEphemeral fails the test for a port the system may give a connection
// (on Linux, one of ip_local_port_range): a stopped node binds its ports
// again when it restarts, and one of them could be taken meanwhile.
func notEphemeral(t *testing.T, ports ...int) {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return // no /proc to read the range from
	}
	var lo, hi int
	if _, err := fmt.Sscan(string(b), &lo, &hi); err != nil {
		t.Fatalf("read ip_local_port_range %q: %v", b, err)
	}
	for _, port := range ports {
		if port >= lo && port <= hi {
			t.Errorf("port %d is in the range the system gives connections, %d to %d", port, lo, hi)
		}
	}
}
