// Package bufpipe provides an in-memory, full-duplex net.Conn whose writes
// are buffered as a socket's are.
//
// net.Pipe hands every write to a reader waiting for it: the writer blocks
// until the other side has read, a goroutine switch each way. A socket lets
// the writer go on as soon as its bytes are in the kernel's buffer, and so
// does this pipe, up to a bound: a writer whose reader has stopped reading
// blocks, and its write deadline ends the wait, as with TCP. What it saves
// over loopback TCP is the system calls and the kernel's network stack.
//
// Deadlines, Close and the errors after them behave as net.Conn asks: a
// read or write past its deadline fails with os.ErrDeadlineExceeded, one on
// a closed end with net.ErrClosed, a read of what the other end wrote
// before closing succeeds and then returns io.EOF, and a write to an end
// that has closed fails with io.ErrClosedPipe.
package bufpipe

import (
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// Pipe returns the two ends of a connection. size bounds the bytes written
// one way and not yet read (at least 1).
func Pipe(size int) (net.Conn, net.Conn) {
	size = max(size, 1)
	ab, ba := newBuffer(size), newBuffer(size)
	a := &end{in: ba, out: ab, closed: make(chan struct{})}
	b := &end{in: ab, out: ba, closed: make(chan struct{})}
	a.rd, a.wd = newDeadline(), newDeadline()
	b.rd, b.wd = newDeadline(), newDeadline()
	return a, b
}

// keepBuffer is the most room an emptied buffer keeps for the next writes.
const keepBuffer = 64 << 10

// buffer is one direction of the pipe.
type buffer struct {
	mu  sync.Mutex
	buf []byte // unread bytes are buf[off:]
	off int
	max int
	// eof: the writing end closed; reads drain buf, then end.
	eof bool
	// gone: the reading end closed; writes fail.
	gone bool
	// readable and writable hold a value when a reader or a writer that
	// found nothing to do may find something now.
	readable chan struct{}
	writable chan struct{}
}

func newBuffer(size int) *buffer {
	return &buffer{max: size, readable: make(chan struct{}, 1), writable: make(chan struct{}, 1)}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// read copies unread bytes into p. ok is false when there were none and
// the reader must wait; err is io.EOF once the writer closed and all is
// read.
func (b *buffer) read(p []byte) (n int, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off == len(b.buf) {
		if b.eof {
			return 0, true, io.EOF
		}
		return 0, false, nil
	}
	n = copy(p, b.buf[b.off:])
	b.off += n
	if b.off == len(b.buf) {
		b.buf, b.off = b.buf[:0], 0
		if cap(b.buf) > keepBuffer {
			// A large message passed: an idle connection need not keep
			// its room.
			b.buf = nil
		}
	}
	notify(b.writable)
	return n, true, nil
}

// write buffers as much of p as there is room for. ok is false when there
// was none and the writer must wait.
func (b *buffer) write(p []byte) (n int, ok bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.gone {
		return 0, true, io.ErrClosedPipe
	}
	room := b.max - (len(b.buf) - b.off)
	if room <= 0 {
		return 0, false, nil
	}
	n = min(room, len(p))
	if b.off > 0 && len(b.buf)+n > cap(b.buf) {
		// Move the unread bytes to the front before growing the array.
		b.buf = b.buf[:copy(b.buf, b.buf[b.off:])]
		b.off = 0
	}
	b.buf = append(b.buf, p[:n]...)
	notify(b.readable)
	return n, true, nil
}

// end is one end of the pipe: it reads in and writes out.
type end struct {
	in, out *buffer
	rd, wd  *deadline
	// wmu keeps concurrent Writes from interleaving their bytes, as the
	// net package's connections do.
	wmu       sync.Mutex
	closeOnce sync.Once
	closed    chan struct{}
}

func (e *end) Read(p []byte) (int, error) {
	for {
		select {
		case <-e.closed:
			return 0, e.opErr("read", net.ErrClosed)
		case <-e.rd.passed():
			return 0, e.opErr("read", os.ErrDeadlineExceeded)
		default:
		}
		if len(p) == 0 {
			return 0, nil
		}
		n, ok, err := e.in.read(p)
		if ok {
			return n, err
		}
		select {
		case <-e.in.readable:
		case <-e.closed:
		case <-e.rd.passed():
		}
	}
}

func (e *end) Write(p []byte) (int, error) {
	e.wmu.Lock()
	defer e.wmu.Unlock()
	written := 0
	for {
		select {
		case <-e.closed:
			return written, e.opErr("write", net.ErrClosed)
		case <-e.wd.passed():
			return written, e.opErr("write", os.ErrDeadlineExceeded)
		default:
		}
		if written == len(p) {
			return written, nil
		}
		n, ok, err := e.out.write(p[written:])
		written += n
		if err != nil {
			return written, e.opErr("write", err)
		}
		if written == len(p) {
			// Taken whole: a deadline passing now does not undo it.
			return written, nil
		}
		if ok {
			continue
		}
		select {
		case <-e.out.writable:
		case <-e.closed:
		case <-e.wd.passed():
		}
	}
}

// Close closes this end: its reads and writes fail from now on, the other
// end reads what this one wrote and then io.EOF, and its writes fail.
func (e *end) Close() error {
	first := false
	e.closeOnce.Do(func() {
		first = true
		close(e.closed)
		e.out.mu.Lock()
		e.out.eof = true
		e.out.mu.Unlock()
		notify(e.out.readable)
		e.in.mu.Lock()
		e.in.gone = true
		e.in.buf, e.in.off = nil, 0
		e.in.mu.Unlock()
		notify(e.in.writable)
	})
	if !first {
		return e.opErr("close", net.ErrClosed)
	}
	return nil
}

func (e *end) opErr(op string, err error) error {
	return &net.OpError{Op: op, Net: addr{}.Network(), Source: addr{}, Addr: addr{}, Err: err}
}

func (e *end) LocalAddr() net.Addr  { return addr{} }
func (e *end) RemoteAddr() net.Addr { return addr{} }

func (e *end) SetDeadline(t time.Time) error {
	if err := e.SetReadDeadline(t); err != nil {
		return err
	}
	return e.SetWriteDeadline(t)
}

func (e *end) SetReadDeadline(t time.Time) error {
	if e.isClosed() {
		return e.opErr("set deadline", net.ErrClosed)
	}
	e.rd.set(t)
	return nil
}

func (e *end) SetWriteDeadline(t time.Time) error {
	if e.isClosed() {
		return e.opErr("set deadline", net.ErrClosed)
	}
	e.wd.set(t)
	return nil
}

func (e *end) isClosed() bool { return isDone(e.closed) }

// addr is the address of both ends.
type addr struct{}

func (addr) Network() string { return "pipe" }
func (addr) String() string  { return "in-process" }

// deadline is a time after which a channel is closed.
type deadline struct {
	mu    sync.Mutex
	timer *time.Timer
	done  chan struct{} // closed once the deadline has passed
}

func newDeadline() *deadline { return &deadline{done: make(chan struct{})} }

// set moves the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var wait time.Duration
	if !t.IsZero() {
		wait = time.Until(t)
	}
	if d.timer != nil {
		if d.timer.Stop() {
			// It had not fired, so done is still the channel it closes: a
			// later deadline moves it. A connection's writer moves its
			// deadline before every write, and a new timer each time cost
			// an allocation and a closure.
			if wait > 0 {
				d.timer.Reset(wait)
				return
			}
		} else {
			<-d.done // the timer fired: wait for it to have closed done
		}
		d.timer = nil
	}
	passed := isDone(d.done)
	if t.IsZero() {
		if passed {
			d.done = make(chan struct{})
		}
		return
	}
	if wait > 0 {
		if passed {
			d.done = make(chan struct{})
		}
		done := d.done
		d.timer = time.AfterFunc(wait, func() { close(done) })
		return
	}
	if !passed {
		close(d.done)
	}
}

// passed returns a channel closed once the deadline has passed.
func (d *deadline) passed() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.done
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
