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

// Waits a client gave up on, which the protocol cannot call off, hold
// their slots at the broker until their wait ends; they must not keep the
// connection's other requests from being read. An HTTP face serves each
// name on one connection, and 64 REST waits whose clients hung up made
// every other request of the name go unanswered for up to 30 s, told
// "the broker is not answering: kill it". Waits take at most MaxWaiting
// of the slots; one past it is refused at once with rate_limited, which
// the client retries.
func TestAbandonedWaitsLeaveTheConnectionServed(t *testing.T) {
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
			awaitWaiting(t, m.dial(t), waiting)
			giveUp()
			wg.Wait()

			var list ipc.ListResult
			if err := p.call(ipc.OpList, nil, &list); err != nil {
				t.Fatalf("a list on a connection whose %d waits were given up on: %v", waiting, err)
			}
			p.send(t, "someone", "sent while the waits are held")
			err = p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 1000}, nil)
			var e *ipcmesh.Error
			if !errors.As(err, &e) || e.Code != ipcmesh.CodeRateLimited || e.RetryAfterMS <= 0 {
				t.Fatalf("a wait past the %d held: %v; want rate_limited with a retry_after", waiting, err)
			}
		})
	}
}
