// Package natstest gives a test binary one NATS JetStream cluster of three
// nodes on loopback, started the first time a test asks for it, so that
// the packages' tests run against a real replicated cluster without
// paying for one unless they use it.
package natstest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/internal/tail"
)

// Cluster is a lazily started cluster. The zero value is ready to use; a
// test binary keeps one in a package variable and closes it in TestMain.
type Cluster struct {
	once     sync.Once
	dir      string
	local    *cluster.Local
	err      error
	prefixes atomic.Int64
}

// Get returns the cluster, starting it on first use.
func (c *Cluster) Get(tb testing.TB) *cluster.Local {
	tb.Helper()
	c.once.Do(func() {
		c.dir, c.err = os.MkdirTemp("", "ipcmesh-nats-")
		if c.err != nil {
			return
		}
		c.local, c.err = cluster.StartLocal(context.Background(), c.dir, 3, nil)
	})
	if c.err != nil {
		tb.Fatalf("start a NATS cluster: %v", c.err)
	}
	return c.local
}

// Start starts a cluster of three nodes for one test alone, which may stop
// and restart its nodes; it is closed when the test ends. A test that
// fails shows the nodes' log in its own: a leader election or a stalled
// write that made a send time out is seen there and nowhere else.
func Start(tb testing.TB) *cluster.Local {
	tb.Helper()
	log := &tail.Buffer{Max: 64 << 10}
	logger := slog.New(slog.NewTextHandler(log, nil))
	stopWatch := watchStalls(logger)
	l, err := cluster.StartLocal(context.Background(), tb.TempDir(), 3, logger)
	if err != nil {
		stopWatch()
		tb.Fatalf("start a NATS cluster: %v\nthe nodes' log:\n%s", err, log)
	}
	tb.Cleanup(func() {
		l.Close()
		stopWatch()
		if tb.Failed() {
			tb.Logf("the NATS nodes' log:\n%s", log)
		}
	})
	return l
}

// watchStalls logs each time this process, where the nodes run, did not
// run for over a second: the nodes then answer nobody, and a write
// times out for a reason that is not the cluster's. It returns what stops
// the watch.
func watchStalls(log *slog.Logger) (stop func()) {
	const tick, stall = 100 * time.Millisecond, time.Second
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				now := time.Now()
				if gap := now.Sub(last); gap > stall {
					log.Warn("the test process did not run", "for", gap.Round(time.Millisecond))
				}
				last = now
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// Prefix returns a stream prefix no other test of the binary uses, so
// that tests sharing the cluster never see each other's mesh.
func (c *Cluster) Prefix() string { return fmt.Sprintf("T%d", c.prefixes.Add(1)) }

// Close stops the cluster, if it was started, and removes its data.
func (c *Cluster) Close() {
	if c.local != nil {
		c.local.Close()
	}
	if c.dir != "" {
		os.RemoveAll(c.dir)
	}
}

// Main runs the tests of m and then closes c: a TestMain of one line. In
// a child process that StartProcs started, it runs that node instead.
func Main(m *testing.M, c *Cluster) int {
	if config := os.Getenv(nodeEnv); config != "" {
		return runNode(config)
	}
	code := m.Run()
	c.Close()
	return code
}
