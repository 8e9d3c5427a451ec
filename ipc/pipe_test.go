package ipc_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A client on a Broker.Pipe is served as one on TCP is: it proves the
// secret, registers, sends to a TCP peer and is pushed its mail; the
// broker's close ends it, and no pipe is made after that.
func TestBrokerPipe(t *testing.T) {
	m := startMesh(t, nil)
	bob := m.join(t, "bob")

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := ipc.NewClient(ctx, m.pipe(t), newKeys(t), ipc.DialOptions{}); err == nil {
		t.Fatal("a client with another secret passed the handshake on a pipe")
	}

	alice := &peer{Events: newEventLog()}
	var err error
	if alice.Client, err = ipc.NewClient(ctx, m.pipe(t), m.Keys, ipc.DialOptions{OnEvent: alice.Events.add}); err != nil {
		t.Fatalf("NewClient on a pipe: %v", err)
	}
	defer alice.Close()
	alice.register(t, ipc.RegisterRequest{Name: "alice", Subscribe: true})

	sent := alice.send(t, "bob", "through the pipe")
	if got := bob.check(t); len(got) != 1 || got[0].ID != sent.Message.ID || got[0].From != "alice" {
		t.Fatalf("bob's mail = %+v, want alice's message %s", got, sent.Message.ID)
	}
	back := bob.send(t, "alice", "and back")
	alice.Events.await(t, ipc.EventMessage, isMessage(back.Message.ID))

	m.Broker.Close()
	select {
	case <-alice.Done():
	case <-ctx.Done():
		t.Fatal("the pipe's client was not told the broker closed")
	}
	if err := alice.call(ipc.OpStatus, nil, nil); !errors.Is(err, ipc.ErrConnLost) {
		t.Errorf("a call once the broker closed: %v, want ErrConnLost", err)
	}
	if _, err := m.Broker.Pipe(); !errors.Is(err, ipc.ErrBrokerClosed) {
		t.Errorf("Pipe after Close: %v, want ErrBrokerClosed", err)
	}
}

// On a pipe, frames pass between the broker and the client as values, not
// bytes; the order of a socket holds all the same: a push queued before an
// answer has reached the client's OnEvent by the time the call returns.
// Many calls at once each get their own answer, and a client that closes
// hears of nothing after.
func TestPipeKeepsPushesBeforeAnswers(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.OpsPerSecond, o.Config.Limits.OpsBurst = 1e9, 1e9 })
	alice := m.join(t, "alice")

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	// Bob is slow to take a push, so that pushes queue up behind it.
	bob := &peer{Events: newEventLog()}
	slow := func(ev ipc.Event) {
		time.Sleep(200 * time.Microsecond)
		bob.Events.add(ev)
	}
	var err error
	if bob.Client, err = ipc.NewClient(ctx, m.pipe(t), m.Keys, ipc.DialOptions{OnEvent: slow}); err != nil {
		t.Fatalf("NewClient on a pipe: %v", err)
	}
	defer bob.Close()
	bob.register(t, ipc.RegisterRequest{Name: "bob", Subscribe: true})

	// Alice's sends are answered once bob's push is queued; a status bob
	// asks for after that is answered after the push.
	const pings = 200
	var acked atomic.Int64
	sent := make(chan error, 1)
	go func() {
		for i := range pings {
			var res ipc.SendResult
			if err := alice.Call(ctx, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: fmt.Sprintf("ping %d", i)}}, &res); err != nil {
				sent <- err
				return
			}
			acked.Add(1)
		}
		sent <- nil
	}()
	for done := false; !done; {
		select {
		case err := <-sent:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		default:
		}
		before := int(acked.Load())
		bob.must(t, ipc.OpStatus, nil, nil)
		if n := bob.Events.count(ipc.EventMessage); n < before {
			t.Fatalf("%d sends to bob were answered before he asked for his status, and when it came his OnEvent had %d pushes", before, n)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			var res ipc.SendResult
			content := fmt.Sprintf("at once %d", i)
			if err := bob.Call(ctx, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "alice", Content: content}}, &res); err != nil {
				errs <- err
				return
			}
			if res.Message.Content != content {
				errs <- fmt.Errorf("send of %q answered with the message %q", content, res.Message.Content)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := alice.check(t); len(got) != 16 {
		t.Errorf("alice has %d messages, want 16", len(got))
	}

	bob.Close()
	alice.send(t, "bob", "after the close")
	if err := bob.call(ipc.OpStatus, nil, nil); !errors.Is(err, ipc.ErrConnLost) {
		t.Errorf("a call on a closed pipe: %v, want ErrConnLost", err)
	}
	if n := bob.Events.count(ipc.EventMessage); n != pings {
		t.Errorf("bob's OnEvent had %d pushes, want the %d from before the close", n, pings)
	}
}

// pipe is a new in-memory connection to the mesh's broker.
func (m *mesh) pipe(tb testing.TB) net.Conn {
	tb.Helper()
	nc, err := m.Broker.Pipe()
	if err != nil {
		tb.Fatalf("Pipe: %v", err)
	}
	return nc
}
