package ipc_test

import (
	"context"
	"errors"
	"testing"

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
	nc, err := m.Broker.Pipe()
	if err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	if _, err := ipc.NewClient(ctx, nc, newKeys(t), ipc.DialOptions{}); err == nil {
		t.Fatal("a client with another secret passed the handshake on a pipe")
	}

	nc, err = m.Broker.Pipe()
	if err != nil {
		t.Fatalf("Pipe: %v", err)
	}
	alice := &peer{Events: newEventLog()}
	if alice.Client, err = ipc.NewClient(ctx, nc, m.Keys, ipc.DialOptions{OnEvent: alice.Events.add}); err != nil {
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
