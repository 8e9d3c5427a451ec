package election

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
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

// A register that the broker carries out but answers too late (it was
// stopped with Ctrl-Z just after, or is slow) leaves the peer as it was.
// Before, the broker bound the peer's connection to the new name while
// the peer, told the call failed, went on as the old one: its sends went
// out under the new name and its checks read that name's mail, and an
// assistant whose IPC_NAME was the register found its own name "in use by
// another connected instance" for as long as it ran. The same register
// called again takes the session the broker made.
func TestRegisterAnsweredLateLeavesThePeerAsItWas(t *testing.T) {
	m := newMesh(t)
	carol := m.join("carol") // hosts the broker
	var late answerGate
	p := m.joinCuttable("alice", late.wrap, func(c *Config) { c.AnswerTimeout = 500 * time.Millisecond })
	ctx := ctxT(t)

	late.hold()
	if _, err := p.Register(ctx, "bob"); !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("register while the broker's answers are held: %v; want ErrNotAnswering", err)
	}
	late.release()
	p.reconnect()

	if _, err := p.Send(ctx, "carol", "who sent this?"); err != nil {
		t.Fatal(err)
	}
	r, err := carol.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].From != "alice" {
		t.Errorf("carol got %+v; want one message from alice, the name the peer acts as", r.Messages)
	}
	if got := p.Name(); got != "alice" {
		t.Errorf("the peer acts as %q after its register got no answer, want alice", got)
	}

	s, err := p.Register(ctx, "bob")
	if err != nil {
		t.Fatalf("the register called again: %v", err)
	}
	if s.Name != "bob" || !s.Resumed {
		t.Errorf("the register called again gave %+v; want bob, resuming the session the unanswered one made", s)
	}
}

// answerGate holds back what the broker writes on the connections it
// wraps while it is held: the broker carries the requests out, and their
// answers come once it is released.
type answerGate struct {
	mu   sync.Mutex
	open chan struct{} // nil while nothing is held
}

func (g *answerGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = make(chan struct{})
}

func (g *answerGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open != nil {
		close(g.open)
		g.open = nil
	}
}

func (g *answerGate) wrap(nc net.Conn) net.Conn {
	return &gatedConn{Conn: nc, gate: g, closed: make(chan struct{})}
}

// gatedConn passes on what it reads only while its gate is not held; its
// Close ends a Read waiting for the gate, as it ends any Read.
type gatedConn struct {
	net.Conn
	gate   *answerGate
	once   sync.Once
	closed chan struct{}
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.gate.mu.Lock()
	open := c.gate.open
	c.gate.mu.Unlock()
	if open != nil {
		select {
		case <-open:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return n, err
}

func (c *gatedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// An ack the broker does not answer may be carried out late or never: a
// broker stopped (Ctrl-Z) holds it, and once resumed runs it beside the
// check the peer sent after it, which may read first. Either way the
// reader has the messages, and the next check must not hand them over
// again: the peer acks them again quietly. Before, an assistant's check
// returned the same message twice across a broker stopped for longer than
// the answer timeout.
func TestCheckAfterAnUnansweredAckShowsNothingTwice(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice") // hosts the broker
	wire := &ackSwallower{}
	bob := m.joinWith("bob", func(c *Config) {
		c.AnswerTimeout = 500 * time.Millisecond
		c.Dial = m.dialThrough(wire.wrap)
	})
	ctx := ctxT(t)
	if _, err := alice.Send(ctx, "bob", "read me once"); err != nil {
		t.Fatal(err)
	}
	r, err := bob.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 {
		t.Fatalf("bob's first check: %+v; want the message alice sent", r.Messages)
	}
	if _, err := bob.Ack(ctx, []string{r.Messages[0].ID}); !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("an ack the broker never answers: %v; want ErrNotAnswering", err)
	}

	r, err = bob.Check(ctx, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 0 {
		t.Errorf("the check after an unanswered ack returned %+v again; want nothing: bob has it", r.Messages)
	}
	list, err := alice.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range list {
		if in.Name == "bob" && in.Unread != 0 {
			t.Errorf("bob has %d unread after his check acked his mail again; want 0", in.Unread)
		}
	}
}

// ackSwallower makes the connections it wraps swallow the first ack
// request written to any of them: the broker never reads it, and the peer
// waits for its answer in vain.
type ackSwallower struct {
	swallowed atomic.Bool
}

func (s *ackSwallower) wrap(nc net.Conn) net.Conn {
	return &frameWire{Conn: nc, edit: func(frame []byte) ([]byte, error) {
		f, err := ipc.DecodeFrame(frame[4:])
		if err == nil && f.Op == ipc.OpAck && s.swallowed.CompareAndSwap(false, true) {
			return nil, nil
		}
		return frame, nil
	}}
}
