package main

import (
	"strings"
	"testing"

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
