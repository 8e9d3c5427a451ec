package ipc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// outQueue is how many frames may wait for a slow reader before the broker
// gives up on it. A healthy client drains it in microseconds.
const outQueue = 1024

// conn is the broker's side of one client connection that has finished the
// handshake (see greeting for those that have not).
type conn struct {
	b  *Broker
	nc net.Conn
	id string
	// client, when set, is the Client at the other end of a Broker.Pipe,
	// which takes the frames queued on out as they are (see pipeLink).
	client *Client
	out    chan *Frame
	sem    chan struct{} // a slot per request in flight
	waits  chan struct{} // a slot per request in flight that may wait (mayWait)

	// name, subscribed and holder are guarded by the broker's presence
	// lock.
	name       string
	subscribed bool
	holder     string // RegisterRequest.Holder
	// keepsKeys: the connection keeps its name's live keys (an HTTP
	// face), so a revoke waits for its key_seen (see Broker.keyRevoke).
	keepsKeys atomic.Bool
	seenMu    sync.Mutex
	seen      map[string]chan struct{} // key id -> closed by key_seen

	waitMu    sync.Mutex
	waitCalls map[uint64]*waitCall // frame id -> a request in its wait (see cancel)

	work chan *Frame  // to a worker waiting for a request (see worker)
	idle atomic.Int32 // workers waiting for one

	ctx      context.Context // ends when the connection does
	cancel   context.CancelFunc
	inflight sync.WaitGroup
	stopMu   sync.Mutex
	cut      bool          // guarded by stopMu: Close admits no more requests
	stopped  chan struct{} // closed when the read loop must stop
	written  chan struct{} // closed when the writer has flushed and stopped
	outMu    sync.Mutex
	outDone  bool
	stuck    bool   // guarded by outMu: cut off for not reading (see send)
	queued   uint64 // frames queued on out; guarded by outMu
	flush    flushes
}

func newConn(b *Broker, nc net.Conn, n uint64) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{
		b:       b,
		nc:      nc,
		id:      "conn:" + itoa(n),
		out:     make(chan *Frame, outQueue),
		work:    make(chan *Frame),
		sem:     make(chan struct{}, b.cfg.Limits.MaxInFlight),
		waits:   make(chan struct{}, b.cfg.Limits.MaxWaiting),
		ctx:     ctx,
		cancel:  cancel,
		stopped: make(chan struct{}),
		written: make(chan struct{}),
	}
	if link := linkOf(nc); link != nil {
		c.client = link.client.Load()
		link.conn.Store(c)
	}
	return c
}

// serve runs the connection once the client has proved itself: requests
// until the client leaves, breaks the protocol beyond repair, or the broker
// shuts down. br holds what the handshake read ahead.
func (c *conn) serve(br *bufio.Reader) {
	go func() { c.writeLoop(); close(c.written) }()
	c.readLoop(br)
	// No request is admitted after this, not even one handed over on a
	// pipe (take): the wait for those in flight below must be the last.
	c.stopMu.Lock()
	c.cut = true
	c.stopMu.Unlock()
	if !c.isStopped() {
		// The client is gone: its waiting checks and queued writes are for
		// nobody, and its name must not look held by a dead connection.
		// (On a shutdown the requests already read run to the end instead.)
		c.cancel()
	}
	// Let the requests already read finish and answer before the writer
	// stops; a shutdown then adds its goaway after them.
	c.inflight.Wait()
	c.cancel()
	c.b.dropConn(c)
	select {
	case <-c.stopped:
		// Shutdown owns the rest: it sends goaway and closes the queue.
	default:
		c.closeOut()
	}
	<-c.written
}

func (c *conn) readLoop(br *bufio.Reader) {
	max := c.b.cfg.Limits.MaxFrame
	for {
		f, err := ReadFrame(br, max)
		if err != nil {
			var big *ErrFrameTooLarge
			switch {
			case errors.As(err, &big):
				// The rest of the frame is still on the wire and cannot be
				// skipped safely: answer, then hang up.
				c.reply(0, nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "%v: send large content as a message body of at most the broker's message limit, which spills to a file", err))
				return
			case ipcmesh.CodeOf(err) == ipcmesh.CodeBadRequest:
				c.reply(0, nil, err)
				continue
			case errors.Is(err, io.EOF), c.isStopped():
				return
			default:
				return
			}
		}
		if f.Op == "" || f.ID == 0 {
			c.reply(f.ID, nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a request needs a non-zero id and an op"))
			continue
		}
		if mayWait(f.Op) && !c.takeWait(f) {
			continue
		}
		select {
		case c.sem <- struct{}{}:
		case <-c.stopped:
			c.release(f, false)
			return
		}
		if !c.admit() {
			c.release(f, true)
			return
		}
		// A worker of this connection waiting for work takes it, or a new
		// one starts.
		select {
		case c.work <- f:
		default:
			go c.worker(f)
		}
	}
}

// mayWait reports whether a request of op may wait for mail or a reply.
// Such requests take no more than MaxWaiting of a connection's slots, so
// that its waits never keep its other requests from being read.
func mayWait(op string) bool { return waiters[op] != nil }

// release gives back the slots request f took: its wait's, and, when
// inFlight, the one of sem.
func (c *conn) release(f *Frame, inFlight bool) {
	if inFlight {
		<-c.sem
	}
	if mayWait(f.Op) {
		c.endWait(f)
		<-c.waits
	}
}

// takeWait takes a wait's slot for f, or answers f with rate_limited and
// reports false when every one is taken. Refusing, rather than waiting
// for a slot, keeps the read loop reading, and the client's retry gets an
// answer each time: a caller held up for a slot would be told the broker
// is not answering.
func (c *conn) takeWait(f *Frame) bool {
	select {
	case c.waits <- struct{}{}:
		c.startWait(f)
		return true
	default:
	}
	c.reply(f.ID, nil, &ipcmesh.Error{
		Code: ipcmesh.CodeRateLimited,
		Message: fmt.Sprintf("this connection already has %d requests in flight that may wait (check, wait_reply), the most it may have: "+
			"a wait ends when its mail or reply comes, its wait_ms has passed or its client calls it off (cancel); retry shortly", cap(c.waits)),
		RetryAfterMS: waitsFullRetry.Milliseconds(),
	})
	return false
}

// waitsFullRetry is how long a request refused for want of a wait's slot
// is told to wait before it asks again.
const waitsFullRetry = 500 * time.Millisecond

// maxIdleWorkers bounds the goroutines a connection keeps waiting for its
// next request once theirs is answered.
const maxIdleWorkers = 2

// worker handles f, then the connection's next requests while it is one of
// at most maxIdleWorkers waiting for them. A goroutine kept between
// requests keeps the stack the first one grew: a new one would grow its
// own again (decoding a send does), which cost some 6% of the broker's CPU
// for a lone sender.
func (c *conn) worker(f *Frame) {
	for {
		c.handle(f)
		c.release(f, true)
		c.inflight.Done()
		c.b.handles.Done()
		if c.idle.Add(1) > maxIdleWorkers {
			c.idle.Add(-1)
			return
		}
		select {
		case f = <-c.work:
			c.idle.Add(-1)
		case <-c.ctx.Done():
			c.idle.Add(-1)
			return
		}
	}
}

func (c *conn) handle(f *Frame) {
	res, err := c.b.dispatch(c, f)
	switch {
	case errors.Is(err, errNoReply):
		return
	case errors.Is(err, store.ErrClosed):
		// The store closed under the request: the broker is going away
		// (a shutdown whose grace ran out). That is no fault to show the
		// client. Hang up once the answers already queued are written;
		// the client sends the request again to the next broker, as after
		// any lost connection.
		c.closeOut()
		return
	}
	if c.gone(err) {
		// The client hung up while its request ran (it quit, or was cut
		// off for not reading), and the request stopped there: no fault
		// of the broker's, and nobody to answer.
		c.b.log.Debug("request ended: its client went away", "conn", c.id, "op", f.Op, "err", err)
		return
	}
	c.reply(f.ID, res, err)
}

// gone reports whether err is the end of the connection's own context,
// which ends when its client goes away. The error of any other context (a
// store's own deadline, say) is a failure, reported as such.
func (c *conn) gone(err error) bool {
	cerr := c.ctx.Err()
	return cerr != nil && errors.Is(err, cerr)
}

// reply queues a response. err becomes a structured error frame.
func (c *conn) reply(id uint64, res any, err error) {
	f := &Frame{ID: id}
	if err != nil {
		var e *ipcmesh.Error
		switch {
		case !errors.As(err, &e):
			c.b.log.Error("request failed", "conn", c.id, "err", err)
			e = ipcmesh.Errorf(ipcmesh.CodeInternal, "the broker failed: %v", err)
		case e.Code == ipcmesh.CodeUnavailable:
			// The store failing a write is the operator's to hear of
			// (a disk that cannot sync, a cluster without quorum), not
			// only the client's. Not every such write went unstored (a
			// cluster's write this broker had not applied in time):
			// err says which.
			c.b.log.Warn("request answered unavailable", "conn", c.id, "err", err)
		}
		f.Error = e
	} else if res != nil {
		body, merr := Marshal(res)
		if merr != nil {
			f.Error = ipcmesh.Errorf(ipcmesh.CodeInternal, "encode response: %v", merr)
		} else {
			f.Body = body
		}
	}
	c.send(f)
}

// event queues a pushed event and returns its place in the queue.
func (c *conn) event(name string, body any) uint64 {
	raw, err := Marshal(body)
	if err != nil {
		return 0
	}
	return c.send(&Frame{Event: name, Body: raw})
}

// send queues f and returns its place in the queue (flushes.wait), 0 if
// it was not queued. The writer encodes it, off the sender's goroutine,
// which for a push is the store's committer.
func (c *conn) send(f *Frame) uint64 {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outDone || c.stuck {
		return 0
	}
	select {
	case c.out <- f:
		c.queued++
		return c.queued
	default:
		// The client stopped reading. Waiting would let one stuck client
		// hold broker goroutines; dropping frames would break the
		// protocol. Cut it off: its requests will be retried elsewhere.
		// The answers of its other requests in flight are for nobody
		// either, and need no warning of their own.
		c.stuck = true
		c.b.log.Warn("client is not reading; closing its connection", "conn", c.id)
		c.nc.Close()
		return 0
	}
}

func (c *conn) closeOut() {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if !c.outDone {
		c.outDone = true
		close(c.out)
	}
}

// writeLoop writes queued frames, coalescing whatever is queued into one
// write so that a burst costs one syscall.
func (c *conn) writeLoop() {
	defer c.nc.Close()
	if c.client != nil {
		c.handOver(c.client)
		return
	}
	bw := bufio.NewWriterSize(c.nc, 64<<10)
	timeout := c.b.cfg.Limits.WriteTimeout
	var scratch []byte
	write := func(f *Frame) error {
		var err error
		if scratch, err = AppendFrame(scratch[:0], f); err != nil {
			c.b.log.Error("frame dropped", "conn", c.id, "err", err)
			return nil
		}
		_, err = bw.Write(scratch)
		if cap(scratch) > maxScratch {
			scratch = nil // a large message's room is not kept
		}
		return err
	}
	var n uint64 // frames taken from out, in the order they were queued
	for f := range c.out {
		n++
		c.nc.SetWriteDeadline(time.Now().Add(timeout))
		if err := write(f); err != nil {
			c.drain()
			return
		}
		for more := true; more; {
			select {
			case next, ok := <-c.out:
				if !ok {
					bw.Flush()
					return
				}
				n++
				if err := write(next); err != nil {
					c.drain()
					return
				}
			default:
				more = false
			}
		}
		if err := bw.Flush(); err != nil {
			c.drain()
			return
		}
		c.flush.done(n)
	}
	bw.Flush()
}

// maxScratch is the most room writeLoop keeps for encoding the next frame.
const maxScratch = 64 << 10

// drain discards queued frames after a write failure so senders never block.
func (c *conn) drain() {
	c.nc.Close()
	for range c.out {
	}
}

// admit counts a request in, unless the connection has stopped reading.
// Checking and counting under one lock with stopReading is what lets
// Shutdown wait for every admitted request without racing a late one.
func (c *conn) admit() bool {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if c.cut || c.isStopped() {
		return false
	}
	c.inflight.Add(1)
	c.b.handles.Add(1)
	return true
}

// cutOff admits no more requests and closes the connection at once, for
// Close. Refusing under the same lock admit counts under is what lets Close
// wait for the requests being handled without racing a late one.
func (c *conn) cutOff() {
	c.stopMu.Lock()
	c.cut = true
	c.stopMu.Unlock()
	c.nc.Close()
}

// stopReading makes the read loop end without closing the connection, so
// that the answers to requests already read can still be written.
func (c *conn) stopReading() {
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if !c.isStopped() {
		close(c.stopped)
		c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) isStopped() bool {
	select {
	case <-c.stopped:
		return true
	default:
		return false
	}
}

// goaway tells the client the broker is leaving and closes the connection
// once everything queued before it is written.
func (c *conn) goaway(reason string) {
	c.event(EventGoaway, GoawayEvent{Reason: reason})
	c.closeOut()
}

// leave unbinds the connection from its name.
func (c *conn) leave() string { return c.b.presence.unbind(c) }

func itoa(n uint64) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return string(b[i:])
}

// expectSeen returns a channel that key_seen for key id closes.
func (c *conn) expectSeen(id string) <-chan struct{} {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]chan struct{})
	}
	ch := c.seen[id]
	if ch == nil {
		ch = make(chan struct{})
		c.seen[id] = ch
	}
	return ch
}

// markSeen closes the channel of key id, if a revoke waits for it; a
// key_seen nobody waits for is dropped.
func (c *conn) markSeen(id string) {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if ch := c.seen[id]; ch != nil {
		close(ch)
		delete(c.seen, id)
	}
}

// forgetSeen drops the wait ch for key id once its revoke is done with it.
func (c *conn) forgetSeen(id string, ch <-chan struct{}) {
	c.seenMu.Lock()
	defer c.seenMu.Unlock()
	if c.seen[id] == ch {
		delete(c.seen, id)
	}
}
