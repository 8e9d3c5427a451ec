package ipc_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Waits held at the broker must not keep the connection's other requests
// from being read. An HTTP face serves each name on one connection, and
// 64 REST waits made every other request of the name go unanswered for up
// to 30 s, told "the broker is not answering: kill it". Waits take at
// most MaxWaiting of the slots; one past it is refused at once with
// rate_limited, which the client retries. A wait whose caller gives up is
// called off (cancel), and gives its slot back at once: before, it held it
// until its wait ran out, so that a face whose clients hung up on that
// many waits had its next one refused.
func TestWaitsLeaveTheConnectionServed(t *testing.T) {
	const inFlight, waiting = 8, 4
	for _, transport := range []string{"tcp", "pipe"} {
		t.Run(transport, func(t *testing.T) {
			m := startMesh(t, func(o *meshOptions) {
				o.Config.Limits.MaxInFlight = inFlight
				o.Config.Limits.MaxWaiting = waiting
			})
			var nc net.Conn
			var err error
			if transport == "pipe" {
				nc = m.pipe(t)
			} else if nc, err = net.Dial("tcp", m.Addr); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			p := &peer{Events: newEventLog()}
			if p.Client, err = ipc.NewClient(ctx, nc, m.Keys, ipc.DialOptions{}); err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.register(t, ipc.RegisterRequest{Name: "waiter"})

			// As many waits as the connection has slots: those past
			// MaxWaiting are refused, the others held.
			gaveUp, giveUp := context.WithCancel(ctx)
			var wg sync.WaitGroup
			for range inFlight {
				wg.Go(func() {
					p.Call(gaveUp, ipc.OpCheck, ipc.CheckRequest{WaitMS: ipc.MaxWait.Milliseconds()}, nil)
				})
			}
			observer := m.dial(t)
			awaitWaiting(t, observer, waiting)

			var list ipc.ListResult
			if err := p.call(ipc.OpList, nil, &list); err != nil {
				t.Fatalf("a list on a connection whose %d waits are held: %v", waiting, err)
			}
			err = p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 1000}, nil)
			var e *ipcmesh.Error
			if !errors.As(err, &e) || e.Code != ipcmesh.CodeRateLimited || e.RetryAfterMS <= 0 {
				t.Fatalf("a wait past the %d held: %v; want rate_limited with a retry_after", waiting, err)
			}

			giveUp()
			wg.Wait()
			awaitWaiting(t, observer, 0)
			p.send(t, "someone", "sent once the waits were given up on")
			if err := p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 1000}, nil); err != nil {
				t.Fatalf("a wait after the %d held were given up on: %v", waiting, err)
			}
		})
	}
}
