package main

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
)

// TestCommandsAtOnceWithoutQuorumEachSaySo: several commands of one host
// run at once while the cluster has no quorum. Each must fail saying so,
// within the time its client waits: a command takes its name on the
// host's broker first, and the broker decides names one request at a
// time, each waiting for the cluster as long as a write does (12 s), so
// the second in line waited 24 s and was told that the broker did not
// answer, "it may be stopped (Ctrl-Z) ... kill it (kill -9 PID)", which
// would have been no help at all.
func TestCommandsAtOnceWithoutQuorumEachSaySo(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	a.startBroker()
	senders := []string{"dave", "erin", "frank"}
	for _, name := range append([]string{"carol"}, senders...) {
		a.mustRun("register", name)
	}

	nats.Stop(0)
	nats.Stop(2)
	var procs []*proc
	for _, name := range senders {
		procs = append(procs, a.start(nil, "send", "--as", name, "carol", "sent without quorum"))
	}
	for i, p := range procs {
		code := p.wait(runTimeout)
		msg := p.stderr.String()
		if code != 1 || !strings.Contains(msg, "quorum") || !strings.Contains(msg, "nothing was acknowledged") || strings.Contains(msg, "did not answer") {
			t.Errorf("send --as %s without quorum, with %d other commands under way, exited %d and said %q; want exit 1, saying the cluster has no quorum and nothing was acknowledged", senders[i], len(senders)-1, code, msg)
		}
	}
}

// TestBrokerLeavesPromptlyWithoutItsCluster: Ctrl-C stops a broker whose
// NATS cluster has gone, or lost its quorum, within the ten seconds a
// hand-over has. On its way out a broker saves the last-seen times, stops
// watching the names bucket and gives up its names: each a request of the
// cluster, which waited out its timeout, one after another, and a person
// pressing Ctrl-C waited 18 s (22 s without quorum) for a courtesy the
// cluster could not take.
func TestBrokerLeavesPromptlyWithoutItsCluster(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test stops the broker as Ctrl-C does, which Windows cannot send to another process")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		down []int // the nodes stopped
	}{
		{"gone", []int{0, 1, 2}},
		{"without quorum", []int{0, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nats := natstest.Start(t)
			a, _ := hosts(t, nats)
			broker := a.startBroker()
			a.start(nil, "watch", "--as", "carol")
			awaitOnline(t, a, "carol")
			for _, i := range tc.down {
				nats.Stop(i)
			}
			start := time.Now()
			broker.interrupt()
			if code := broker.wait(handOver); code != 0 {
				t.Fatalf("the broker exited %d after Ctrl-C with its cluster %s, want 0", code, tc.name)
			}
			t.Logf("the broker exited %v after Ctrl-C", time.Since(start).Round(time.Millisecond))
			if !strings.Contains(broker.stdout.String(), "handing over and stopping") {
				t.Errorf("the broker did not say it hands over; stdout:\n%s", broker.stdout)
			}
		})
	}
}

// handOver is how long a broker has to stop and hand over (election's
// stopBroker).
const handOver = 10 * time.Second
