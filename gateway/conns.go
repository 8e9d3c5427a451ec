package gateway

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// defaultMaxKeyless is how many connections that have shown no valid key
// the face holds at once, unless Options.MaxKeylessConns says otherwise.
// An idle one costs the process a descriptor, a goroutine and about 20
// KiB, so these cost some 20 MiB at most.
const defaultMaxKeyless = 1024

// A connection costs the face from the moment it is accepted, before its
// client has sent a byte or shown a key, and net/http holds it while
// headers trickle in (up to the server's ReadHeaderTimeout) and, after a
// request that needs no key, as long as the client keeps it idle. One
// client with no key at all opened 19,990 connections to `ipcmesh broker
// --http` in 9 s, each after a GET /health: the process grew to 400 MB and
// ran out of descriptors, so it accepted neither the face's key holders
// nor the mesh's own peers, and every send failed.
//
// So the face holds at most max connections that have not yet carried a
// request with a valid key (keyless ones); a new one beyond that closes the
// oldest, as the broker does with connections still in its handshake
// (SECURITY.md). The oldest goes because a client with a key shows it in
// its first request, a moment after it connects: a flood must open max
// connections within that moment to push it out. A connection that
// carried a valid key is never closed here: its requests are bounded by
// the key's rate limit, and its idle time by the server's. The bound is
// not per address, since behind a proxy or tunnel every client has the
// same one.
type connGuard struct {
	max    int
	mu     sync.Mutex
	conns  map[net.Conn]*conn // every connection open, keyed or not
	oldest *conn              // the keyless ones, oldest first
	newest *conn
	n      int // keyless ones held
	closed atomic.Int64
}

// conn is one connection the face serves.
type conn struct {
	c     net.Conn
	keyed atomic.Bool
	// prev and next link the keyless connections, under connGuard.mu.
	prev, next *conn
}

type connKey struct{}

func newConnGuard(max int) *connGuard {
	return &connGuard{max: max, conns: map[net.Conn]*conn{}}
}

// accepted counts c as keyless, closing the oldest keyless connection if
// there are more than max, and returns ctx with c's record for keyed.
// It is the server's ConnContext, called as each connection is accepted.
func (g *connGuard) accepted(ctx context.Context, c net.Conn) context.Context {
	cn := &conn{c: c}
	g.mu.Lock()
	g.conns[c] = cn
	g.push(cn)
	var drop *conn
	if g.n > g.max {
		drop = g.oldest
		g.unlink(drop)
		delete(g.conns, drop.c)
	}
	g.mu.Unlock()
	if drop != nil {
		g.closed.Add(1)
		closeNow(drop.c)
	}
	return context.WithValue(ctx, connKey{}, cn)
}

// changed forgets c once the server is done with it. It is the server's
// ConnState.
func (g *connGuard) changed(c net.Conn, state http.ConnState) {
	if state != http.StateClosed && state != http.StateHijacked {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	cn, ok := g.conns[c]
	if !ok {
		return // closed by accepted
	}
	delete(g.conns, c)
	if !cn.keyed.Load() {
		g.unlink(cn)
	}
}

// keyed marks the connection r came on as one that carried a valid key,
// which takes it out of the bound.
func (g *connGuard) keyed(r *http.Request) {
	cn, ok := r.Context().Value(connKey{}).(*conn)
	if !ok || cn.keyed.Load() {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, open := g.conns[cn.c]; !open || cn.keyed.Load() {
		return
	}
	cn.keyed.Store(true)
	g.unlink(cn)
}

// push adds cn as the newest keyless connection; under mu.
func (g *connGuard) push(cn *conn) {
	cn.prev = g.newest
	if g.newest != nil {
		g.newest.next = cn
	} else {
		g.oldest = cn
	}
	g.newest = cn
	g.n++
}

// unlink takes cn out of the keyless connections; under mu.
func (g *connGuard) unlink(cn *conn) {
	if cn.prev != nil {
		cn.prev.next = cn.next
	} else {
		g.oldest = cn.next
	}
	if cn.next != nil {
		cn.next.prev = cn.prev
	} else {
		g.newest = cn.prev
	}
	cn.prev, cn.next = nil, nil
	g.n--
}

// closeNow closes c without waiting on its client: a TLS connection's own
// Close first writes a close_notify alert, which a client that reads
// nothing could hold for seconds, and the accept loop calls this.
func closeNow(c net.Conn) {
	if nc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = nc.NetConn()
	}
	c.Close()
}

// ConfigureServer readies hs to serve the face: it sets its Handler, and
// the hooks through which the face bounds the connections that have not
// shown a key (ConnContext and ConnState, calling any hs already had).
// Call it before hs serves; TLS and timeouts are the caller's to set.
func (s *Server) ConfigureServer(hs *http.Server) {
	hs.Handler = s.handler
	prevCtx, prevState := hs.ConnContext, hs.ConnState
	hs.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if prevCtx != nil {
			ctx = prevCtx(ctx, c)
		}
		return s.conns.accepted(ctx, c)
	}
	hs.ConnState = func(c net.Conn, state http.ConnState) {
		s.conns.changed(c, state)
		if prevState != nil {
			prevState(c, state)
		}
	}
}
