package election

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A peer whose broker is lost may reach a next one that answers the
// handshake and then hangs. Its resume goes unanswered: the peer gives up
// on it as on any call, and its callers are told which broker does not
// answer, rather than wait with it for ever. Once a broker answers again,
// the peer is back.
func TestResumeOnAHungBrokerIsNamed(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	r := testbin.StartRelay(t, testbin.FreeAddr(t), m.addr)
	peer := &mesh{t: t, addr: r.Addr(), dir: m.dir, keys: m.keys}
	p := peer.joinWith("alice", func(c *Config) { c.AnswerTimeout = 500 * time.Millisecond })

	r.Stall(0)
	r.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := p.List(ctx)
	if !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("list while the next broker hangs after the handshake: %v; want ErrNotAnswering", err)
	}

	r.Flow()
	testbin.Eventually(t, 10*time.Second, "the peer to resume on a broker that answers", func() bool {
		_, err := p.List(ctx)
		return err == nil
	})
	if p.Name() != "alice" {
		t.Errorf("the peer acts as %q after resuming, want alice", p.Name())
	}
}

// A peer closed while it reconnects, its handshake under way, leaves no
// connection behind: one that a broker answers after Close began is
// closed with the peer, or it would keep a detached broker from ever
// stopping idle, with a goroutine reading it for as long as the process
// lives.
func TestCloseDuringAReconnectLeavesNoConnection(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	r := testbin.StartRelay(t, testbin.FreeAddr(t), m.addr)
	peer := &mesh{t: t, addr: r.Addr(), dir: m.dir, keys: m.keys}
	p := peer.join("")

	release, hellos := r.HoldAnswers()
	defer release()
	r.Cut()
	var ended <-chan struct{}
	select {
	case ended = <-hellos:
	case <-ctxT(t).Done():
		t.Fatal("the peer did not reconnect")
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	<-p.closing
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	case <-time.After(5 * time.Second):
		t.Fatal("the connection the peer made as it closed is still open 5 s after Close returned")
	}
}
