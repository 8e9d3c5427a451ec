package election

import (
	"net"
	"strings"
	"testing"
	"time"
)

// A peer whose Config.Dial is the host's Pipe joins the broker in its
// process without a socket and acts like any peer. It never takes the
// mesh port: once that broker is gone, its calls fail, saying why, and
// the port stays free for the next peer to bind.
func TestDialThePipeOfTheHost(t *testing.T) {
	m := newMesh(t)
	host := m.join("")
	if !host.IsBroker() {
		t.Fatal("the first peer does not host the broker")
	}
	face := m.joinWith("alice", func(c *Config) { c.Dial = host.Pipe })
	if face.IsBroker() {
		t.Fatal("the peer on the pipe hosts a broker")
	}
	bob := m.join("bob")
	ctx := ctxT(t)
	if _, err := face.Send(ctx, "bob", "over the pipe"); err != nil {
		t.Fatalf("send on the pipe: %v", err)
	}
	if c, err := bob.Check(ctx, 10, 0); err != nil || len(c.Messages) != 1 || c.Messages[0].From != "alice" {
		t.Fatalf("bob's check: %+v, %v; want alice's message", c.Messages, err)
	}
	if _, err := bob.Send(ctx, "alice", "and back"); err != nil {
		t.Fatal(err)
	}
	if c, err := face.Check(ctx, 10, 5*time.Second); err != nil || len(c.Messages) != 1 || c.Messages[0].Content != "and back" {
		t.Fatalf("alice's check on the pipe: %+v, %v; want bob's answer", c.Messages, err)
	}

	bob.Close()
	if err := host.Close(); err != nil {
		t.Fatalf("close the host: %v", err)
	}
	_, err := face.Send(ctx, "bob", "anyone?")
	if err == nil || !strings.Contains(err.Error(), "not hosted in this process") {
		t.Errorf("a send once the host has gone: %v, want an error saying its broker is not hosted here", err)
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatalf("the mesh port after the host left: %v; the peer on the pipe must not take it", err)
	}
	ln.Close()
}
