package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
)

// localStartTimeout bounds StartLocal when its context sets no deadline.
// It is longer than a node's: after the nodes are up, the JetStream meta
// group elects its leader, and a raft election waits 4 to 9 s.
const localStartTimeout = 30 * time.Second

// startAttempts is how many sets of ports StartLocal tries: a port found
// free may be taken by another program before the node binds it.
const startAttempts = 3

// Local is a cluster of nodes on this machine, all on loopback: what
// "ipcmesh cluster" runs, and what tests and benchmarks use to have a real
// JetStream cluster whose nodes they can stop and restart.
type Local struct {
	mu     sync.Mutex
	cfgs   []NodeConfig // with fixed ports, so a node comes back as it was
	nodes  []*Node      // nil where a node is stopped
	closed bool
}

// StartLocal starts n nodes named n1..nN, with data under dir/n1..dir/nN,
// every node routed to every other, and returns once JetStream has a meta
// leader that knows all n nodes: streams of up to n replicas can be made
// at once. A single node runs on its own, without a cluster port. The
// nodes take the ports the last cluster of dir bound, if they are free.
// Without a deadline in ctx, StartLocal waits at most 30 s.
func StartLocal(ctx context.Context, dir string, n int, logger *slog.Logger) (*Local, error) {
	if n < 1 {
		return nil, fmt.Errorf("start a local cluster of %d nodes: want at least 1", n)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("start a local cluster: make its data folder: %w", err)
	}
	if had := nodesIn(dir); had > 0 && had != n {
		return nil, fmt.Errorf("start a local cluster of %s: %w", nodeCount(n), &NodeCountError{Dir: dir, Had: had, Want: n})
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, localStartTimeout)
		defer cancel()
	}
	var err error
	ports := lastPorts(dir, n)
	for range startAttempts {
		var l *Local
		if l, err = startLocal(ctx, dir, n, logger, ports); err == nil {
			if err = l.waitFormed(ctx); err != nil {
				l.Close()
				return nil, fmt.Errorf("start a local cluster of %s: %w", nodeCount(n), err)
			}
			l.savePorts(dir)
			return l, nil
		}
		ports = nil // taken since: the next try picks others
		if ctx.Err() != nil || errors.Is(err, ErrInUse) {
			break // another try on other ports finds the folder as busy
		}
	}
	return nil, fmt.Errorf("start a local cluster of %s: %w", nodeCount(n), err)
}

// NodeCountError is the error of StartLocal on a folder whose cluster
// ran with another number of nodes. The nodes of a folder are one
// JetStream cluster, whose members are the nodes it ever had: started
// with fewer, those left out stay members that never answer, and count
// against every quorum; a single node runs on its own, not as a member,
// and takes writes that the others drop once they run again, acked
// sends among them. Nodes added stay members for good. Either way the
// nodes take new ports, and the IPC_STORE line of the brokers that run
// changes.
type NodeCountError struct {
	Dir  string
	Had  int // the nodes the folder's cluster ran with
	Want int // the nodes asked for
}

func (e *NodeCountError) Error() string {
	var what string
	switch {
	case e.Want == 1:
		what = "n1 would run on its own, not as a member of the cluster, and take writes that the other nodes drop once they run again"
	case e.Want < e.Had:
		what = "the nodes left out would stay members of the cluster that never answer, so that one more node down stops every write"
	default:
		what = "the nodes added would stay members of the cluster for good"
	}
	return fmt.Sprintf("the cluster in %s ran with %s, which keep its data between them: run with %d, %s, and its IPC_STORE line would change",
		e.Dir, nodeNames(e.Had), e.Want, what)
}

// nodeCount counts n nodes.
func nodeCount(n int) string {
	if n == 1 {
		return "1 node"
	}
	return strconv.Itoa(n) + " nodes"
}

// nodeNames counts and names the nodes n1 to nN.
func nodeNames(n int) string {
	if n == 1 {
		return "1 node (n1)"
	}
	return fmt.Sprintf("%s (n1 to n%d)", nodeCount(n), n)
}

// nodesIn returns how many nodes the local cluster in dir ran with: its
// node folders n1, n2 and on, none if it never ran.
func nodesIn(dir string) int {
	n := 0
	for {
		fi, err := os.Stat(filepath.Join(dir, "n"+strconv.Itoa(n+1)))
		if err != nil || !fi.IsDir() {
			return n
		}
		n++
	}
}

// startLocal starts the nodes on ports picked for them, or stops those it
// started and fails.
func startLocal(ctx context.Context, dir string, n int, logger *slog.Logger, ports []int) (*Local, error) {
	if len(ports) != 2*n {
		var err error
		if ports, err = freeport.Pick(DefaultHost, 2*n); err != nil {
			return nil, err
		}
	}
	l := &Local{cfgs: make([]NodeConfig, n), nodes: make([]*Node, n)}
	for i := range n {
		l.cfgs[i] = NodeConfig{
			Name:   "n" + strconv.Itoa(i+1),
			Dir:    filepath.Join(dir, "n"+strconv.Itoa(i+1)),
			Host:   DefaultHost,
			Port:   ports[2*i],
			Logger: logger,
		}
		if n > 1 {
			l.cfgs[i].ClusterPort = ports[2*i+1]
		}
	}
	for i := range n {
		for j := range n {
			if j != i {
				route := "nats-route://" + net.JoinHostPort(DefaultHost, strconv.Itoa(l.cfgs[j].ClusterPort))
				l.cfgs[i].Routes = append(l.cfgs[i].Routes, route)
			}
		}
	}
	for i, cfg := range l.cfgs {
		node, err := StartNode(ctx, cfg)
		if err != nil {
			l.Close()
			return nil, err
		}
		l.nodes[i] = node
	}
	return l, nil
}

// waitFormed waits until a meta leader knows every node and every node
// follows it, then until a client can reach the JetStream API: creating
// a stream of n replicas before then fails for want of peers.
func (l *Local) waitFormed(ctx context.Context) error {
	const poll = 50 * time.Millisecond
	for !l.formed() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("the JetStream meta group has no leader that knows all %d nodes: %w", len(l.cfgs), context.Cause(ctx))
		case <-time.After(poll):
		}
	}
	nc, err := nats.Connect(l.URL(), nats.Name("ipcmesh cluster check"))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", l.URL(), err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	for {
		try, cancel := context.WithTimeout(ctx, time.Second)
		_, err := js.AccountInfo(try)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("JetStream does not answer on %s: %w (%w)", l.URL(), err, context.Cause(ctx))
		case <-time.After(poll):
		}
	}
}

// formed reports whether the cluster is ready for streams of every size.
func (l *Local) formed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.nodes) == 1 {
		return l.nodes[0] != nil
	}
	leader := false
	for _, node := range l.nodes {
		if node == nil || !node.srv.JetStreamIsCurrent() {
			return false
		}
		if node.srv.JetStreamIsLeader() {
			leader = len(node.srv.JetStreamClusterPeers()) == len(l.nodes)
		}
	}
	return leader
}

// URL is the client URLs of every node, comma-separated, the way
// IPC_STORE and nats.Connect take them: a client fails over among them.
func (l *Local) URL() string {
	urls := make([]string, len(l.cfgs))
	for i, cfg := range l.cfgs {
		urls[i] = "nats://" + net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	}
	return strings.Join(urls, ",")
}

// Len is the number of nodes, running or stopped.
func (l *Local) Len() int { return len(l.cfgs) }

// Node is node i (0 is n1), or nil while it is stopped.
func (l *Local) Node(i int) *Node {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nodes[i]
}

// Stop shuts node i down as if its host had died: the others carry on
// while a quorum of them is up. Stopping a stopped node does nothing.
//
// It is a clean shutdown all the same, the only kind an embedded server
// has: a node leading a stream hands the lead to a peer as it goes, so the
// stream takes writes again within a fraction of a second, where a host
// that really dies leaves its peers to notice the missing heartbeats and
// elect a leader, which takes seconds.
func (l *Local) Stop(i int) {
	l.mu.Lock()
	node := l.nodes[i]
	l.nodes[i] = nil
	l.mu.Unlock()
	if node != nil {
		node.Shutdown()
	}
}

// Restart starts node i again, under its name, on its ports, with its data
// and routes, and returns once it accepts connections. Catching up with
// the others happens after: the streams it holds lag until it has.
func (l *Local) Restart(ctx context.Context, i int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("restart a node of a closed local cluster")
	}
	if l.nodes[i] != nil {
		return fmt.Errorf("restart node %s: it is running", l.cfgs[i].Name)
	}
	// The lock is held across the start so that Close cannot miss a node
	// that comes up meanwhile.
	node, err := StartNode(ctx, l.cfgs[i])
	if err != nil {
		return err
	}
	l.nodes[i] = node
	return nil
}

// Close stops every node and waits until they have stopped. It may be
// called more than once.
func (l *Local) Close() {
	l.mu.Lock()
	l.closed = true
	nodes := l.nodes
	l.nodes = make([]*Node, len(nodes))
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, node := range nodes {
		if node != nil {
			wg.Go(node.Shutdown)
		}
	}
	wg.Wait()
}

// portsFile, in a Local's folder, keeps the ports its nodes last bound: a
// cluster started again on the same folder takes them again if they are
// free, so the address it printed stays the same, and brokers still
// running from the last start, which reconnect to it for ever, find it
// again instead of the mesh stopping until each is given a new one.
const portsFile = "ports.json"

type portsRecord struct {
	// Ports are the client and route port of each node, in order.
	Ports []int `json:"ports"`
}

// lastPorts returns the ports a cluster of n nodes last bound in dir, or
// nil.
func lastPorts(dir string, n int) []int {
	data, err := os.ReadFile(filepath.Join(dir, portsFile))
	if err != nil {
		return nil
	}
	var r portsRecord
	if json.Unmarshal(data, &r) != nil || len(r.Ports) != 2*n {
		return nil // another number of nodes: other ports
	}
	for i, p := range r.Ports {
		if p == 0 && i == 1 && n == 1 {
			continue // a node on its own has no route port
		}
		// Any other 0, written by hand, would have its node pick a port
		// the other nodes do not route to.
		if p < 1 || p > 65535 {
			return nil
		}
	}
	return r.Ports
}

// savePorts records the ports l's nodes bound, for lastPorts. A cluster
// that cannot record them runs all the same: its next start picks others.
func (l *Local) savePorts(dir string) {
	l.mu.Lock()
	r := portsRecord{Ports: make([]int, 0, 2*len(l.cfgs))}
	for _, c := range l.cfgs {
		r.Ports = append(r.Ports, c.Port, c.ClusterPort)
	}
	l.mu.Unlock()
	if data, err := json.Marshal(r); err == nil {
		atomicfile.Write(filepath.Join(dir, portsFile), data, 0o600)
	}
}
