package gateway

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
// So the face holds at most maxKeyless connections that have not yet
// carried a request with a valid key (keyless ones); a new one beyond that
// closes the oldest, as the broker does with connections still in its
// handshake (SECURITY.md). The oldest goes because a client with a key
// shows it in its first request, a moment after it connects: a flood must
// open maxKeyless connections within that moment to push it out.
//
// A connection is then the key's whose request it carried last. A key may
// have maxOpenPerKey requests in progress (keycap.go), but nothing bounded
// its idle connections: a stolen key, each of whose requests opened a
// connection and left it idle, could run the process out of descriptors
// as well. So while a key holds more than maxOpenPerKey connections, its
// oldest idle ones are closed. The bounds are not per address, since
// behind a proxy or tunnel every client has the same one.
type connGuard struct {
	maxKeyless int
	log        *slog.Logger
	mu         sync.Mutex
	conns      map[net.Conn]*conn // every connection open
	keyless    connList
	byKey      map[string]*connList // key id -> the connections it holds
	// dropped counts the keyless connections closed for newer ones since
	// the last warning, told at dropLogged; one a minute at most, since a
	// flood closes thousands.
	dropped    int
	dropLogged time.Time
}

// dropLogEvery is how often the face at most warns that it closes
// connections without a key.
const dropLogEvery = time.Minute

// conn is one connection the face serves.
type conn struct {
	c net.Conn
	// busy counts its requests in the face's handler: one for HTTP/1.1,
	// any number of streams for HTTP/2. It is counted there rather than
	// from the server's StateActive and StateIdle, which it sets after
	// the client may have read the answer: a client that had its answer
	// could find its connection still counted busy.
	busy atomic.Int32
	key  atomic.Pointer[string] // the id of the key it is charged to, nil if keyless
	// list, prev and next place it in its list, under connGuard.mu.
	list       *connList
	prev, next *conn
}

// connList is a list of connections, oldest first.
type connList struct {
	oldest, newest *conn
	n              int
}

type connKey struct{}

func newConnGuard(maxKeyless int, log *slog.Logger) *connGuard {
	return &connGuard{
		maxKeyless: maxKeyless,
		log:        log,
		conns:      map[net.Conn]*conn{},
		byKey:      map[string]*connList{},
	}
}

// accepted counts c as keyless, closing the oldest keyless connection if
// there are more than maxKeyless, and returns ctx with c's record for
// keyed. It is the server's ConnContext, called as each connection is
// accepted.
func (g *connGuard) accepted(ctx context.Context, c net.Conn) context.Context {
	cn := &conn{c: c}
	g.mu.Lock()
	g.conns[c] = cn
	g.keyless.push(cn)
	var drop *conn
	var told int
	if g.keyless.n > g.maxKeyless {
		drop = g.keyless.oldest
		g.forget(drop)
		g.dropped++
		if now := time.Now(); now.Sub(g.dropLogged) >= dropLogEvery {
			told, g.dropped, g.dropLogged = g.dropped, 0, now
		}
	}
	g.mu.Unlock()
	if drop != nil {
		closeNow(drop.c)
	}
	if told > 0 {
		// closed counts since the last such line.
		g.log.Warn("closing the oldest connections that have shown no key, to hold no more than the bound: a flood of connections, or clients that connect and send nothing",
			"bound", g.maxKeyless, "closed", told)
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
	if cn, ok := g.conns[c]; ok {
		g.forget(cn)
	}
}

// keyed charges the connection r came on to the key id, which has shown
// itself valid on it, and closes the key's oldest idle connections while
// it holds more than maxOpenPerKey.
func (g *connGuard) keyed(r *http.Request, id string) {
	cn := connOf(r)
	if cn == nil {
		return // served without ConfigureServer
	}
	if cn.chargedTo(id) {
		return
	}
	var drop []*conn
	g.mu.Lock()
	if _, open := g.conns[cn.c]; !open || cn.chargedTo(id) {
		g.mu.Unlock()
		return // closed, or charged by another request on it meanwhile (HTTP/2)
	}
	l := g.byKey[id]
	if l == nil {
		l = &connList{}
		g.byKey[id] = l
	}
	g.unlist(cn)
	l.push(cn)
	cn.key.Store(&id)
	for c := l.oldest; c != nil && l.n-len(drop) > maxOpenPerKey; c = c.next {
		if c.busy.Load() == 0 {
			drop = append(drop, c)
		}
	}
	for _, c := range drop {
		g.forget(c)
	}
	g.mu.Unlock()
	for _, c := range drop {
		closeNow(c.c)
	}
}

// connOf returns the connection r came on, nil if the server was not
// configured with ConfigureServer.
func connOf(r *http.Request) *conn {
	cn, _ := r.Context().Value(connKey{}).(*conn)
	return cn
}

// chargedTo reports whether cn is charged to the key id.
func (cn *conn) chargedTo(id string) bool {
	k := cn.key.Load()
	return k != nil && *k == id
}

// enter and leave count a request of cn in the handler; cn may be nil.
func (cn *conn) enter() {
	if cn != nil {
		cn.busy.Add(1)
	}
}

func (cn *conn) leave() {
	if cn != nil {
		cn.busy.Add(-1)
	}
}

// forget drops cn from the guard; under mu.
func (g *connGuard) forget(cn *conn) {
	delete(g.conns, cn.c)
	g.unlist(cn)
}

// unlist takes cn out of its list, dropping a key's list once empty;
// under mu.
func (g *connGuard) unlist(cn *conn) {
	l := cn.list
	if l == nil {
		return
	}
	l.remove(cn)
	if k := cn.key.Load(); k != nil && l.n == 0 {
		delete(g.byKey, *k)
	}
}

func (l *connList) push(cn *conn) {
	cn.list, cn.prev = l, l.newest
	if l.newest != nil {
		l.newest.next = cn
	} else {
		l.oldest = cn
	}
	l.newest = cn
	l.n++
}

func (l *connList) remove(cn *conn) {
	if cn.prev != nil {
		cn.prev.next = cn.next
	} else {
		l.oldest = cn.next
	}
	if cn.next != nil {
		cn.next.prev = cn.prev
	} else {
		l.newest = cn.prev
	}
	cn.list, cn.prev, cn.next = nil, nil, nil
	l.n--
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

// The server's settings that ConfigureServer gives a server that has
// none. Headers must come within readHeaderTimeout and hold at most
// maxHeaderBytes: net/http's own limit, 1 MiB, let each keyless
// connection hold that much while its headers came in, and 1,000
// connections sending 1 MB of headers each took the process from 20 to
// 408 MB within 8 s, still growing; the face's headers are a few hundred bytes, a
// browser's with cookies a few KiB. A connection idle for idleTimeout is
// closed. There is no write timeout: event streams and long waits stay
// open, and the face bounds each write itself.
const (
	readHeaderTimeout = 10 * time.Second
	maxHeaderBytes    = 64 << 10
	idleTimeout       = 2 * time.Minute
)

// ConfigureServer readies hs to serve the face: it sets its Handler, the
// hooks through which the face bounds the connections that have not
// shown a key (ConnContext and ConnState, calling any hs already had),
// and the header timeout and size and idle timeout hs leaves at zero.
// Call it before hs serves; TLS is the caller's to set.
func (s *Server) ConfigureServer(hs *http.Server) {
	hs.Handler = s.handler
	if hs.ReadHeaderTimeout == 0 {
		hs.ReadHeaderTimeout = readHeaderTimeout
	}
	if hs.MaxHeaderBytes == 0 {
		hs.MaxHeaderBytes = maxHeaderBytes
	}
	if hs.IdleTimeout == 0 {
		hs.IdleTimeout = idleTimeout
	}
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
