package ipc_test

import (
	"bufio"
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// idleDial opens n connections that send nothing, as a flood does, and
// closes them when the test ends.
func (m *mesh) idleDial(tb testing.TB, n int) []net.Conn {
	tb.Helper()
	ncs := make([]net.Conn, n)
	for i := range ncs {
		nc, err := net.Dial("tcp", m.Addr)
		if err != nil {
			tb.Fatalf("dial: %v", err)
		}
		tb.Cleanup(func() { nc.Close() })
		ncs[i] = nc
	}
	return ncs
}

// Connections that never finish the handshake are held to
// Limits.MaxHandshakes: each new one beyond it closes the oldest, and a
// peer that connects meanwhile is served.
func TestHandshakesBeyondTheBoundCloseTheOldest(t *testing.T) {
	const bound = 16
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.MaxHandshakes = bound
		o.Config.Limits.HandshakeTimeout = callTimeout // none ends by itself
	})
	idle := m.idleDial(t, bound+8)

	// The broker accepts in order, so this peer comes after every idle
	// connection, and closes one more of them.
	p := m.dial(t)
	p.register(t, ipc.RegisterRequest{Name: "peer"})
	p.send(t, "peer", "through the flood")
	if msgs := p.check(t); len(msgs) != 1 {
		t.Fatalf("the peer's own message: check = %+v", msgs)
	}
	var st ipc.StatusResult
	p.must(t, ipc.OpStatus, nil, &st)
	if st.Connections != bound {
		t.Errorf("status counts %d connections, want %d: %d still in the handshake and the peer", st.Connections, bound, bound-1)
	}
	closed := len(idle) - (bound - 1)
	for _, nc := range idle[:closed] {
		r := &rawConn{tb: t, nc: nc, br: bufio.NewReader(nc)}
		r.wantClosed()
	}
}

// A connection in the handshake costs the broker one goroutine and little
// memory: the buffers, queue and writer of a conn are made only once the
// client has proved itself.
func TestHandshakeCostsLittle(t *testing.T) {
	const n = 200
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.HandshakeTimeout = callTimeout
		o.Config.Limits.HandshakeBurst = 2 * n
	})
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
	before := readUsage()
	m.idleDial(t, n)
	// Served after every idle connection was accepted.
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
	after := readUsage()

	// The test's own side of each connection is counted too; it is small.
	const maxBytes = 16 << 10
	per := (after.bytes - before.bytes) / n
	t.Logf("%d bytes and %.2f goroutines per idle connection", per, float64(after.goroutines-before.goroutines)/n)
	if per > maxBytes {
		t.Errorf("each idle connection in the handshake costs %d bytes of heap and stacks, want at most %d", per, maxBytes)
	}
	// One goroutine each, and a few for the peer dialed after them.
	if more := after.goroutines - before.goroutines; more > n+10 {
		t.Errorf("%d idle connections in the handshake added %d goroutines, want one each", n, more)
	}
}

type usage struct{ bytes, goroutines int }

func readUsage() usage {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return usage{bytes: int(ms.HeapAlloc + ms.StackInuse), goroutines: runtime.NumGoroutine()}
}

// Connections that send nothing spend none of the handshake budget, which
// hellos spend: a flood of them, connecting and closing or sitting idle,
// leaves a peer's handshake unhurt.
func TestSilentConnectionsSpendNoHandshakeBudget(t *testing.T) {
	m := startMesh(t, nil) // 100 handshakes a second, bursts of 200
	for range 300 {
		nc, err := net.Dial("tcp", m.Addr)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		nc.Close()
	}
	m.idleDial(t, 250)
	p, err := m.tryDial(m.Keys, ipc.DialOptions{})
	if err != nil {
		t.Fatalf("a peer dialing after 550 silent connections: %v", err)
	}
	defer p.Close()
	p.register(t, ipc.RegisterRequest{Name: "peer"})
	p.send(t, "peer", "through the flood")
}

// A connection that sends the length of a frame at the limit and then
// stalls costs the broker what it sent, not the limit: the frame's buffer
// grows as its bytes arrive. When it was allocated whole, five bytes on
// each of 200 connections made the broker hold 3.2 GiB, resident once
// freed frames were reused.
func TestStalledFrameCostsWhatItSent(t *testing.T) {
	// The heap is the whole test process's: a run of the whole suite
	// under the race detector once measured 13 MB more than these
	// connections hold, 1.7 MB each of 8. Spread over 32, such noise stays
	// under the bound, and a frame's buffer allocated whole still costs
	// each connection 16 MiB.
	const n = 32
	conns := make(chan *readWatch, n)
	m := startMesh(t, func(o *meshOptions) {
		o.Wrap = func(ln net.Listener) net.Listener { return &watchListener{Listener: ln, conns: conns} }
	})
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
	<-conns
	before := readUsage()
	for range n {
		r := m.rawAuthed(t)
		w := <-conns
		// Once the broker waits for the rest of the frame, it has made
		// the frame's buffer.
		reading := w.await(w.total() + 5)
		if _, err := r.nc.Write(append(binary.BigEndian.AppendUint32(nil, ipc.DefaultMaxFrame), '{')); err != nil {
			t.Fatalf("write: %v", err)
		}
		select {
		case <-reading:
		case <-time.After(callTimeout):
			t.Fatal("the broker did not read the start of the frame")
		}
	}
	after := readUsage()

	// An authenticated connection has buffers of its own: 64 KiB to read
	// requests through, and a queue of answers.
	const maxBytes = 1 << 20
	per := (after.bytes - before.bytes) / n
	t.Logf("%d bytes per connection stalled in a frame of %d bytes", per, ipc.DefaultMaxFrame)
	if per > maxBytes {
		t.Errorf("each connection stalled after the length of a %d-byte frame costs %d bytes, want at most %d", ipc.DefaultMaxFrame, per, maxBytes)
	}
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
}

// watchListener hands each connection it accepts to conns, watched.
type watchListener struct {
	net.Listener
	conns chan *readWatch
}

func (l *watchListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	w := &readWatch{Conn: nc}
	l.conns <- w
	return w, nil
}

// readWatch counts the bytes the broker reads from a connection and tells
// when it waits in a read having read a given number.
type readWatch struct {
	net.Conn
	mu      sync.Mutex
	read    int
	want    int
	reached chan struct{}
}

func (w *readWatch) total() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.read
}

// await returns a channel closed once the broker waits in a read with at
// least want bytes read.
func (w *readWatch) await(want int) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want, w.reached = want, make(chan struct{})
	return w.reached
}

func (w *readWatch) Read(p []byte) (int, error) {
	w.mu.Lock()
	if w.reached != nil && w.read >= w.want {
		close(w.reached)
		w.reached = nil
	}
	w.mu.Unlock()
	n, err := w.Conn.Read(p)
	w.mu.Lock()
	w.read += n
	w.mu.Unlock()
	return n, err
}
