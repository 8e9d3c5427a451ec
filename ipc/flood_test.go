package ipc_test

import (
	"bufio"
	"net"
	"runtime"
	"testing"

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
