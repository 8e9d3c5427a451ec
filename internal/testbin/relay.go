package testbin

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Relay holds a mesh port and passes its connections on to the broker on
// another. Once stalled, a new connection passes on only its first frames
// (the handshake, and as many requests as Stall says) and swallows the
// rest: to the peer, the broker it reached proves itself and then answers
// nothing, as a broker does that hangs, or is stopped, just after.
type Relay struct {
	tb   testing.TB
	ln   net.Listener
	to   string
	pass atomic.Int64 // frames a new connection passes on; 0: all

	mu    sync.Mutex
	conns []net.Conn
	// hold, when set, holds back the broker's words on new connections
	// until it is closed; hello is told of each hello held so, with a
	// channel closed once the peer's side of that connection ends.
	hold  chan struct{}
	hello chan (<-chan struct{})
}

// StartRelay listens on addr and passes connections on to the broker on
// to, until the test ends.
func StartRelay(tb testing.TB, addr, to string) *Relay {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	r := &Relay{tb: tb, ln: ln, to: to}
	tb.Cleanup(func() {
		ln.Close()
		r.Cut()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.relay(c)
		}
	}()
	return r
}

// Addr is where the relay listens.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Stall makes the connections to come pass on the handshake (the first
// two frames the peer writes) and then only requests more, and swallow
// the rest.
func (r *Relay) Stall(requests int) { r.pass.Store(int64(2 + requests)) }

// Flow makes the connections to come pass everything on again.
func (r *Relay) Flow() { r.pass.Store(0) }

// HoldAnswers holds back the broker's answers on the connections to come
// until release is called; hellos is told of each hello held so, with a
// channel closed once the peer's side of that connection ends.
func (r *Relay) HoldAnswers() (release func(), hellos <-chan (<-chan struct{})) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hold = make(chan struct{})
	r.hello = make(chan (<-chan struct{}), 16)
	return sync.OnceFunc(func() { close(r.hold) }), r.hello
}

func (r *Relay) relay(c net.Conn) {
	b, err := net.Dial("tcp", r.to)
	if err != nil {
		c.Close()
		return
	}
	r.mu.Lock()
	r.conns = append(r.conns, c, b)
	hold, hello := r.hold, r.hello
	r.mu.Unlock()
	pass := int(r.pass.Load())
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
		out := io.Writer(b)
		if pass > 0 && frames >= pass {
			out = io.Discard
		}
		if _, err := out.Write(hdr[:]); err != nil {
			break
		}
		if _, err := io.CopyN(out, c, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
			break
		}
	}
	c.Close()
	b.Close()
}

// Cut closes every connection passed on so far.
func (r *Relay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.Close()
	}
	r.conns = nil
}
