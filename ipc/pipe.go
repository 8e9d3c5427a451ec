package ipc

import (
	"context"
	"net"
	"sync/atomic"

	"github.com/ipcmesh/ipcmesh/internal/bufpipe"
)

// pipeBuffer bounds what either end of a Pipe holds unread, about what
// the kernel buffers for a loopback socket.
const pipeBuffer = 256 << 10

// Pipe returns the client's end of an in-memory connection that the broker
// serves as it serves those it accepts: the handshake, the limits and the
// rules of sessions are the same. A client in the broker's own process
// (the HTTP face of "ipcmesh broker --http") so skips the system calls and
// the kernel's network stack that loopback TCP costs every request and
// answer. It fails with ErrBrokerClosed once the broker is closing.
func (b *Broker) Pipe() (net.Conn, error) {
	c, s := bufpipe.Pipe(pipeBuffer)
	link := new(pipeLink)
	client, server := &pipeEnd{c, link}, &pipeEnd{s, link}
	g := b.greet(server)
	if g == nil {
		client.Close()
		server.Close()
		return nil, ErrBrokerClosed
	}
	go b.serveGreeting(g)
	return client, nil
}

// pipeEnd is an end of a connection made by Broker.Pipe. Both of its ends
// are this package's code in one process, a conn and, once NewClient has
// it, a Client. So after the handshake, which goes as bytes as on any
// socket, frames pass between them as values (see pipeLink).
type pipeEnd struct {
	net.Conn
	link *pipeLink
}

// pipeLink joins the broker's conn and the Client at the two ends of a
// pipe once each exists. Each frame then costs what it must, its body's
// encoding, and no more: not the frame's encoding and decoding, the pipe's
// copies, nor the goroutines that read each end. Under eight REST senders
// those were some 10% of the CPU of "ipcmesh broker --http".
//
// The order of what the broker sends is kept as on a socket: its writer
// hands the frames to the Client one by one, in the order they were
// queued, so a push always comes before the answer queued after it.
type pipeLink struct {
	client atomic.Pointer[Client] // set by NewClient before its handshake
	conn   atomic.Pointer[conn]   // set once the broker has accepted it
}

// linkOf returns the link of nc when nc is an end of a Broker.Pipe.
func linkOf(nc net.Conn) *pipeLink {
	if p, ok := nc.(*pipeEnd); ok {
		return p.link
	}
	return nil
}

// take admits a request handed over by the Client at the other end of a
// Broker.Pipe, as readLoop admits one it reads, and hands it to a worker.
// A connection that has stopped taking requests is lost to the caller, as
// a socket that stops reading is.
func (c *conn) take(ctx context.Context, f *Frame) error {
	if mayWait(f.Op) && !c.takeWait(f) {
		return nil // answered
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.stopped:
		c.release(f, false)
		return ErrConnLost
	case <-c.ctx.Done():
		c.release(f, false)
		return ErrConnLost
	case <-ctx.Done():
		c.release(f, false)
		return ctx.Err()
	}
	if !c.admit() {
		c.release(f, true)
		return ErrConnLost
	}
	select {
	case c.work <- f:
	default:
		go c.worker(f)
	}
	return nil
}

// handOver is the writer of a conn whose client is at the other end of a
// Broker.Pipe: it passes each frame queued to the Client, in order.
func (c *conn) handOver(to *Client) {
	var n uint64
	for f := range c.out {
		n++
		to.receive(f)
		c.flush.done(n)
	}
}
