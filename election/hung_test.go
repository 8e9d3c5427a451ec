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
	r.mu.Unlock()
	stalled := r.stall.Load()
	go io.Copy(c, b)
	for frames := 0; ; frames++ {
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
	t.Logf("list: %v", err)

	r.stall.Store(false)
	testbin.Eventually(t, 10*time.Second, "the peer to resume on a broker that answers", func() bool {
		_, err := p.List(ctx)
		return err == nil
	})
	if p.Name() != "alice" {
		t.Errorf("the peer acts as %q after resuming, want alice", p.Name())
	}
}
