package natstest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/tail"
)

// nodeEnv carries the config of the node a child process of the test
// binary runs instead of its tests (Procs).
const nodeEnv = "IPCMESH_NATSTEST_NODE"

// nodeConfig is what a child node is told: cluster.NodeConfig without its
// logger, which does not cross a process boundary.
type nodeConfig struct {
	Name        string   `json:"name"`
	Dir         string   `json:"dir"`
	Port        int      `json:"port"`
	ClusterPort int      `json:"cluster_port"`
	Routes      []string `json:"routes"`
}

// runNode runs the node described by nodeEnv until its stdin closes, which
// it does when the test that started it ends, or it is killed.
func runNode(config string) int {
	var nc nodeConfig
	if err := json.Unmarshal([]byte(config), &nc); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", nodeEnv, err)
		return 2
	}
	node, err := cluster.StartNode(context.Background(), cluster.NodeConfig{
		Name: nc.Name, Dir: nc.Dir, Port: nc.Port, ClusterPort: nc.ClusterPort, Routes: nc.Routes,
		Logger: slog.New(nodeLog{slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})}),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "start node %s: %v\n", nc.Name, err)
		return 1
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	node.Shutdown()
	return 0
}

// nodeLog is a child node's log on its stderr (Procs.Log): its warnings
// and errors, and of its debug lines the tries of its routes, against
// which a test counts the failures reported.
type nodeLog struct{ slog.Handler }

func (h nodeLog) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn && !strings.HasPrefix(r.Message, "Trying to connect to route") {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h nodeLog) WithAttrs(attrs []slog.Attr) slog.Handler {
	return nodeLog{h.Handler.WithAttrs(attrs)}
}
func (h nodeLog) WithGroup(name string) slog.Handler { return nodeLog{h.Handler.WithGroup(name)} }

// Procs is a cluster of three nodes, each in a child process of the test
// binary, so that a test can kill one as a host dies: with SIGKILL, which
// leaves its peers to notice the missing heartbeats and elect new
// leaders, as cluster.Local's Stop, a clean shutdown that hands the
// leaders over at once, does not.
type Procs struct {
	tb    testing.TB
	cfgs  []nodeConfig
	mu    sync.Mutex
	procs []*exec.Cmd
	logs  []*tail.Buffer
}

// StartProcs starts the three nodes and returns once each accepts
// connections; they are killed when the test ends. The test binary's
// TestMain must be Main, which runs a node in the children.
func StartProcs(tb testing.TB) *Procs {
	tb.Helper()
	ports, err := freeport.Pick(cluster.DefaultHost, 6)
	if err != nil {
		tb.Fatalf("pick ports for the nodes: %v", err)
	}
	dir := tb.TempDir()
	p := &Procs{tb: tb, procs: make([]*exec.Cmd, 3), logs: make([]*tail.Buffer, 3)}
	for i := range 3 {
		nc := nodeConfig{Name: "n" + strconv.Itoa(i+1), Dir: filepath.Join(dir, "n"+strconv.Itoa(i+1)), Port: ports[2*i], ClusterPort: ports[2*i+1]}
		for j := range 3 {
			if j != i {
				nc.Routes = append(nc.Routes, "nats-route://"+net.JoinHostPort(cluster.DefaultHost, strconv.Itoa(ports[2*j+1])))
			}
		}
		p.cfgs = append(p.cfgs, nc)
	}
	tb.Cleanup(func() {
		for i := range 3 {
			p.Kill(i)
		}
		if tb.Failed() {
			for i, l := range p.logs {
				if l != nil && l.String() != "" {
					tb.Logf("node %s's stderr:\n%s", p.cfgs[i].Name, l)
				}
			}
		}
	})
	for i := range 3 {
		p.Restart(i)
	}
	return p
}

// URL is the client URL of every node, for natsstore.Options.
func (p *Procs) URL() string {
	urls := make([]string, len(p.cfgs))
	for i, nc := range p.cfgs {
		urls[i] = "nats://" + net.JoinHostPort(cluster.DefaultHost, strconv.Itoa(nc.Port))
	}
	return strings.Join(urls, ",")
}

// Kill kills node i with SIGKILL and waits until it is gone. Killing a
// node that is not running does nothing.
func (p *Procs) Kill(i int) {
	p.mu.Lock()
	cmd := p.procs[i]
	p.procs[i] = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// Index returns the index of the node named name.
func (p *Procs) Index(name string) int {
	p.tb.Helper()
	for i, nc := range p.cfgs {
		if nc.Name == name {
			return i
		}
	}
	p.tb.Fatalf("no node is named %q", name)
	return -1
}

// Log returns the last lines node i wrote on its stderr since it last
// started: its warnings and errors, and its routes' tries.
func (p *Procs) Log(i int) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs[i].String()
}

// Name returns the server name of node i, as JetStream reports its
// leaders.
func (p *Procs) Name(i int) string { return p.cfgs[i].Name }

// Restart starts node i, on its ports with its data, and returns once it
// accepts connections.
func (p *Procs) Restart(i int) {
	p.tb.Helper()
	config, err := json.Marshal(p.cfgs[i])
	if err != nil {
		p.tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), nodeEnv+"="+string(config))
	log := &tail.Buffer{Max: 16 << 10}
	cmd.Stderr = log
	// The node runs until its stdin closes: a test binary that dies
	// takes its nodes with it.
	if _, err := cmd.StdinPipe(); err != nil {
		p.tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		p.tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		p.tb.Fatalf("start node %s: %v", p.cfgs[i].Name, err)
	}
	p.mu.Lock()
	p.procs[i], p.logs[i] = cmd, log
	p.mu.Unlock()
	line, err := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		p.tb.Fatalf("node %s did not start: %v\n%s", p.cfgs[i].Name, err, log)
	}
}

// Leader returns the index of the node that leads stream, once it has a
// leader, asking for at most a minute.
func (p *Procs) Leader(stream string) int {
	p.tb.Helper()
	nc, err := nats.Connect(p.URL())
	if err != nil {
		p.tb.Fatalf("connect to the nodes: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		p.tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		s, err := js.Stream(ctx, stream)
		if err == nil {
			var info *jetstream.StreamInfo
			if info, err = s.Info(ctx); err == nil && info.Cluster != nil {
				for i, nc := range p.cfgs {
					if nc.Name == info.Cluster.Leader {
						return i
					}
				}
			}
		}
		select {
		case <-ctx.Done():
			p.tb.Fatalf("the leader of stream %s: none within a minute (%v)", stream, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
