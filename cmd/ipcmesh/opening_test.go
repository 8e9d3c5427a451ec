package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A broker binds the mesh port before it opens its store, which on a
// cluster takes as long as the cluster needs to answer. A command run
// meanwhile waits for it, rather than calling the port's holder a program
// that is not an ipcmesh broker, and goes through once the store is open.
func TestCommandWaitsForABrokerOpeningItsStore(t *testing.T) {
	t.Parallel()
	nats := natstest.Start(t)
	a, _ := hosts(t, nats)
	// Without a quorum the broker cannot create the mesh's stream: it
	// holds the port and keeps trying.
	nats.Stop(0)
	nats.Stop(2)
	// A meta leader left alone answers for a while that the stream's
	// peers are offline, a refusal; once it has stepped down nobody
	// answers, which is what a cluster without quorum does.
	testbin.Eventually(t, 30*time.Second, "the remaining node to step down as meta leader", func() bool {
		return !nats.Node(1).Server().JetStreamIsLeader()
	})
	broker := a.start(nil, "broker")
	testbin.Eventually(t, startTimeout, "the broker to hold the mesh port", func() bool {
		c, err := net.Dial("tcp", a.addr())
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	send := a.start(nil, "send", "--as", "dave", "carol", "while the store opens")
	// Longer than a peer waits for the answer to its hello: the time under
	// test, not a wait for an event.
	time.Sleep(election.HelloTimeout + time.Second)
	if send.hasExited() {
		t.Fatalf("send gave up while the broker was opening its store (exit %d): %s", send.wait(runTimeout), send.stderr.String())
	}
	// status says at once what goes on, where a peer waits.
	st := a.mustRun("status")
	wantIn(t, "status while the broker opens its store", st.stdout, fmt.Sprintf("none serves yet: pid %d on ", broker.pid()), "is opening the store")
	for _, i := range []int{0, 2} {
		if err := nats.Restart(t.Context(), i); err != nil {
			t.Fatal(err)
		}
	}
	broker.waitLine(broker.stdout, "serving", time.Minute)
	if code := send.wait(time.Minute); code != 0 {
		t.Fatalf("send exited %d once the store was open: %s", code, send.stderr.String())
	}
	if out := send.stdout.String(); !strings.Contains(out, "for carol") {
		t.Errorf("send printed %q; want it stored or queued for carol", out)
	}
}
