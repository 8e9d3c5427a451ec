package election

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// relay holds a mesh port and passes its connections on to the broker on
// another. Once stalled, a new connection passes on only the handshake
// (the first two frames the peer writes) and swallows the rest: to the
// peer, the broker it reached proves itself and then answers nothing, as
// a broker does that hangs, or is stopped, just after the handshake.
type relay struct {
	t     *testing.T
	ln    net.Listener
	to    string
	stall atomic.Bool

	mu    sync.Mutex
	conns []net.Conn
	// hold, when set, holds back the broker's words on new connections
	// until it is closed; hello is told of each hello held so, with a
	// channel closed once the peer's side of that connection ends.
	hold  chan struct{}
	hello chan (<-chan struct{})
}

// holdAnswers holds back the broker's answers on the connections to come
// until the returned func is called.
func (r *relay) holdAnswers() (release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = make(chan struct{})
	r.hello = make(chan (<-chan struct{}), 16)
	return sync.OnceFunc(func() { close(r.hold) })
}

func startRelay(t *testing.T, addr, to string) *relay {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := &relay{t: t, ln: ln, to: to}
	t.Cleanup(func() {
		ln.Close()
		r.cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.pass(c)
		}
	}()
	return r
}

func (r *relay) pass(c net.Conn) {
	b, err := net.Dial("tcp", r.to)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	r.conns = append(r.conns, c, b)
	hold, hello := r.hold, r.hello
	r.mu.Unlock()
	stalled := r.stall.Load()
	ended := make(chan struct{})
	defer close(ended)
	go func() {
		if hold != nil {
			<-hold
		}
		io.Copy(c, b)
	}()
	for frames := 0; ; frames++ {
		if frames == 1 && hello != nil {
			hello <- ended
		}
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			break
		}
		out := b
		if stalled && frames >= 2 {
			out = nil
		}
		if out != nil {
			if _, err := out.Write(hdr[:]); err != nil {
				break
			}
			if _, err := io.CopyN(out, c, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
				break
			}
		} else if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
			break
		}
	}
	c.Close()
	b.Close()
}

// cut closes every connection passed on so far.
func (r *relay) cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}

// A peer whose broker is lost may reach a next one that answers the
// handshake and then hangs. Its resume goes unanswered: the peer gives up
// on it as on any call, and its callers are told which broker does not
// answer, rather than wait with it for ever. Once a broker answers again,
// the peer is back.
func TestResumeOnAHungBrokerIsNamed(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	r := startRelay(t, testbin.FreeAddr(t), m.addr)
	peer := &mesh{t: t, addr: r.ln.Addr().String(), dir: m.dir, keys: m.keys}
	p := peer.joinWith("alice", func(c *Config) { c.AnswerTimeout = 500 * time.Millisecond })

	r.stall.Store(true)
	r.cut()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := p.List(ctx)
	if !errors.Is(err, ErrNotAnswering) {
		t.Fatalf("list while the next broker hangs after the handshake: %v; want ErrNotAnswering", err)
	}

	r.stall.Store(false)
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
	r := startRelay(t, testbin.FreeAddr(t), m.addr)
	peer := &mesh{t: t, addr: r.ln.Addr().String(), dir: m.dir, keys: m.keys}
	p := peer.join("")

	release := r.holdAnswers()
	defer release()
	r.cut()
	var ended <-chan struct{}
	select {
	case ended = <-r.hello:
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
