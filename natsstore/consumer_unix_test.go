//go:build unix

package natsstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/store"
)

// The NATS server that serves host B's reading of the log dies (kill -9)
// or hangs (SIGSTOP), and host A sends one message to a recipient on B,
// with nothing written after it: the mesh is idle. B's view must apply
// it and push it to B's recipient by itself, with no later event to
// bring it, within pushWithin of A's ack. The consumer, made anew by the
// client library, took 13 s after a freeze (10 s after the ack) when B's
// connection was on the hung server, and more than a minute once, under
// load; B asking where the log ends brings it about a second after the
// ack. The bound is counted from the ack, not the stop, so that the
// election a kill or freeze may start, which under the race detector on
// a busy machine took more than 10 s, is not counted: the cluster could
// not have given B the message before it acked it to A.
func TestMailReachesAnIdleHostWhoseLogServerDied(t *testing.T) {
	const pushWithin = 6 * time.Second
	for _, tc := range []struct {
		name string
		stop func(*testing.T, *natstest.Procs, int)
	}{
		{"killed", func(_ *testing.T, p *natstest.Procs, i int) { p.Kill(i) }},
		{"frozen", func(t *testing.T, p *natstest.Procs, i int) {
			p.Freeze(i)
			t.Cleanup(func() { p.Thaw(i) })
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nats := natstest.StartProcs(t)
			p := shared.Prefix()
			b := openOnProcs(t, nats, p, nil)
			// B's consumer is the only one of the stream until A opens.
			server := consumerServer(t, nats, p)
			a := openOnProcs(t, nats, p, nil)
			pushed := make(chan []store.Delivery, 1)
			b.Arrivals(func(ds []store.Delivery) { pushed <- ds })

			tc.stop(t, nats, nats.Index(server))
			start := time.Now()
			mustAppendTo(t, a, draft("alone", "alice", "bob", "the last write for a while"))
			acked := time.Now()
			t.Logf("acked on A %v after %s was %s", acked.Sub(start).Round(time.Millisecond), server, tc.name)
			select {
			case ds := <-pushed:
				if len(ds) != 1 || ds[0].Message.ID != "alone" {
					t.Fatalf("B pushed %+v; want the message alone", ds)
				}
				t.Logf("pushed on B %v after %s was %s, %v after the ack", time.Since(start).Round(time.Millisecond), server, tc.name, time.Since(acked).Round(time.Millisecond))
			case <-time.After(time.Until(acked.Add(pushWithin))):
				n, err := b.UnreadCount("bob")
				t.Fatalf("%v after A's ack (%s %s), B has not pushed A's message (bob's unread on B: %d, %v)", pushWithin, server, tc.name, n, err)
			}
			if n, err := b.UnreadCount("bob"); err != nil || n != 1 {
				t.Errorf("bob's unread on B = %d, %v; want 1", n, err)
			}
		})
	}
}

// consumerServer names the server that serves the only consumer of the
// log of the mesh prefix.
func consumerServer(t *testing.T, p *natstest.Procs, prefix string) string {
	t.Helper()
	js := jetStreamAt(t, p.URL())
	var servers []string
	err := settled(t.Context(), func(ctx context.Context) error {
		servers = servers[:0]
		st, err := js.Stream(ctx, prefix)
		if err != nil {
			return err
		}
		lister := st.ListConsumers(ctx)
		for info := range lister.Info() {
			if info.Cluster != nil {
				servers = append(servers, info.Cluster.Leader)
			}
		}
		return lister.Err()
	})
	if err != nil || len(servers) != 1 || servers[0] == "" {
		t.Fatalf("the log's consumers are served by %q, %v; want one", servers, err)
	}
	return servers[0]
}
