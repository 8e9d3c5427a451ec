package ipc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A call given up by its caller leaves the connection usable, and its late
// answer does not reach the next call.
func TestCallContextCancel(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "patient")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Call(ctx, ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want context.Canceled", err)
	}
	var st ipc.StatusResult
	p.must(t, ipc.OpStatus, nil, &st)
	if st.Version != ipc.Version {
		t.Fatalf("status after a cancelled call = %+v", st)
	}
	res := m.join(t, "other").send(t, "patient", "hello")
	if msgs := p.check(t); len(msgs) != 1 || msgs[0].ID != res.Message.ID {
		t.Fatalf("check after a cancelled check = %+v", msgs)
	}
}

func TestCallAfterClose(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "leaver")
	inflight := make(chan error, 1)
	go func() { inflight <- p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil) }()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-inflight; !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("call in flight at Close: %v, want ErrConnLost", err)
	}
	<-p.Done()
	if p.Err() == nil {
		t.Error("Err() is nil after the connection ended")
	}
	if err := p.call(ipc.OpStatus, nil, nil); !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("call after Close: %v, want ErrConnLost", err)
	}
	// The broker lets go of the name once it notices; another connection
	// with the token takes it over at once in any case.
	var s ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: p.Session.Token}, &s)
	if s.Name != "leaver" {
		t.Fatalf("resume = %+v", s)
	}
}

// stalledPeer returns a registered client that its broker has stopped
// reading from, as a broker does while the connection's requests in flight
// are at the limit: here one, held by a waiting check, and a second request
// read and waiting for the slot. Nothing more is read from it.
func stalledPeer(t *testing.T, opts ipc.DialOptions) *peer {
	t.Helper()
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.MaxInFlight = 1 })
	p, err := m.tryDial(m.Keys, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	p.register(t, ipc.RegisterRequest{Name: "stalled"})
	go p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil)
	awaitWaiting(t, m.join(t, "watcher"), 1)
	// The broker reads this one and waits for the slot; its answer never
	// comes, and the call gives up.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Call(ctx, ipc.OpStatus, nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("status with the slot taken: %v, want the call to time out", err)
	}
	return p
}

// A request the broker does not read ends with its call: at the context's
// deadline, at the client's write timeout when the context has none, or
// when the context is cancelled. The connection is then lost, since part of
// the frame may be on the wire.
func TestCallWriteGivesUp(t *testing.T) {
	// The call gives up this long after it began: long enough that it
	// is writing by then, the 12 MiB request encoded, on a loaded machine
	// under the race detector. With 300 ms it could give up before it
	// wrote a byte, and then rightly keeps the connection.
	const giveUp = 2 * time.Second
	// Far more than the kernel buffers of a connection nobody reads.
	big := ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "stalled", Content: strings.Repeat("x", 12<<20)}}
	for _, c := range []struct {
		name string
		opts ipc.DialOptions
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"context deadline", ipc.DialOptions{}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), giveUp)
		}, context.DeadlineExceeded},
		{"write timeout", ipc.DialOptions{WriteTimeout: giveUp}, func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, nil},
		{"cancelled", ipc.DialOptions{}, func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(giveUp, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := stalledPeer(t, c.opts)
			ctx, cancel := c.ctx()
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- p.Call(ctx, ipc.OpSend, big, nil) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(callTimeout):
				t.Fatalf("the write of a request the broker does not read was still blocked after %v", callTimeout)
			}
			if !errors.Is(err, ipc.ErrConnLost) {
				t.Errorf("Call = %v, want ErrConnLost", err)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Call = %v, want it to wrap %v", err, c.want)
			}
			select {
			case <-p.Done():
			case <-time.After(callTimeout):
				t.Error("the connection stayed open after a write cut short")
			}
		})
	}
}
