package ipc

import (
	"bufio"
	"bytes"
	"container/list"
	"encoding/json"
	"errors"
	"io"
	"net"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
)

// handshakeBuffer is the read buffer of a connection in the handshake: a
// hello or an auth frame is a few hundred bytes. The 64 KiB buffer, the
// queue of outgoing frames and the writer of a conn are made only once the
// client has proved itself, so that a connection that never does costs a
// goroutine and little else.
const handshakeBuffer = 1 << 10

// maxHandshakeFrame bounds a frame read during the handshake. ReadFrame
// allocates a frame whole, so this is also what a connection that sends a
// length and then stalls can make the broker hold.
const maxHandshakeFrame = 4 << 10

// requestBuffer is the read buffer of a conn: a burst of requests is read
// with one syscall.
const requestBuffer = 64 << 10

// greeting is a connection still in the handshake.
type greeting struct {
	nc net.Conn
	// elem is its place in the broker's list of greetings, nil once it has
	// left the list; guarded by the broker's mu.
	elem *list.Element
}

// greet admits a new connection to the handshake, or returns nil when the
// broker is closing. At Limits.MaxHandshakes the oldest connection still in
// the handshake is closed to make room. A peer's handshake is over in two
// round trips, so it is closed only if MaxHandshakes more connections
// arrive while it runs: the oldest are those that sit idle, and a flood of
// them can neither lock peers out nor make the broker hold more than the
// bound.
func (b *Broker) greet(nc net.Conn) *greeting {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return nil
	}
	var oldest *greeting
	if b.greetings.Len() >= b.cfg.Limits.MaxHandshakes {
		oldest = b.greetings.Remove(b.greetings.Front()).(*greeting)
		oldest.elem = nil
	}
	g := &greeting{nc: nc}
	g.elem = b.greetings.PushBack(g)
	b.mu.Unlock()
	if oldest != nil {
		oldest.nc.Close()
	}
	return g
}

// serveGreeting runs the handshake of g and then, if the client proved
// itself, serves it as a conn.
func (b *Broker) serveGreeting(g *greeting) {
	br := bufio.NewReaderSize(g.nc, handshakeBuffer)
	ok := b.handshake(g.nc, br)
	c := b.promote(g, ok)
	if c == nil {
		g.nc.Close()
		return
	}
	c.serve(grow(br, g.nc))
}

// promote takes g out of the handshake and, if the handshake succeeded and
// g was not closed meanwhile, makes a conn of it.
func (b *Broker) promote(g *greeting, ok bool) *conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if g.elem == nil {
		return nil // closed to make room, or by a shutdown
	}
	b.greetings.Remove(g.elem)
	g.elem = nil
	if !ok || b.closing {
		return nil
	}
	b.nextConn++
	c := newConn(b, g.nc, b.nextConn)
	b.conns[c] = struct{}{}
	if len(b.conns) == 1 {
		b.disarmIdle()
	}
	return c
}

// grow returns the reader a conn reads requests through, holding whatever
// the handshake's small one read ahead: a client may send its first
// requests right behind its auth frame.
func grow(small *bufio.Reader, nc net.Conn) *bufio.Reader {
	var r io.Reader = nc
	if n := small.Buffered(); n > 0 {
		ahead, _ := small.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(ahead)), nc)
	}
	return bufio.NewReaderSize(r, requestBuffer)
}

// handshake runs the hello and auth exchange (docs/PROTOCOL.md section 3)
// and reports whether the client proved it knows the secret. Its answers
// are written at once: a connection in the handshake has no writer.
func (b *Broker) handshake(nc net.Conn, br *bufio.Reader) bool {
	nc.SetDeadline(time.Now().Add(b.cfg.Limits.HandshakeTimeout))
	f, err := ReadFrame(br, maxHandshakeFrame)
	if tooLarge := (*ErrFrameTooLarge)(nil); errors.As(err, &tooLarge) && jsonNext(br) {
		// Told "expected a hello", the writer of an oversized hello (a
		// long client name in it, say) would look for a typo in its op.
		// Another protocol's bytes (an HTTP request) make a length over
		// the limit too, but no JSON object follows them.
		answer(nc, 0, nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the first frame is %d bytes, over the %d a frame of the handshake may be: open with a hello of that size at most (see docs/PROTOCOL.md)", tooLarge.Size, tooLarge.Max))
		return false
	}
	if err != nil || f.Op != OpHello {
		answer(nc, 0, nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "expected a hello frame first: see docs/PROTOCOL.md"))
		return false
	}
	// The budget is spent by a hello, not by a bare connection: one that
	// sends nothing costs no proof and is bounded by MaxHandshakes instead,
	// so that a flood of them leaves the budget to peers.
	if ok, retry := b.hellos.Allow("hello"); !ok {
		answer(nc, f.ID, nil, ipcmesh.RateLimited("too many new connections to the broker", retry))
		return false
	}
	var hello HelloRequest
	if err := json.Unmarshal(f.Body, &hello); err != nil || hello.Protocol != Protocol || len(hello.Nonce) != auth.NonceSize {
		answer(nc, f.ID, nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "hello must carry protocol %q, versions and a %d-byte nonce", Protocol, auth.NonceSize))
		return false
	}
	version := 0
	for _, v := range hello.Versions {
		if v == Version {
			version = v
		}
	}
	if version == 0 {
		answer(nc, f.ID, nil, ipcmesh.Errorf(ipcmesh.CodeUnsupported, "this broker speaks protocol version %d, the client offered %v: upgrade the older ipcmesh", Version, hello.Versions))
		return false
	}
	bn, err := auth.NewNonce()
	if err != nil {
		return false
	}
	answer(nc, f.ID, HelloResponse{
		Protocol: Protocol,
		Version:  version,
		Nonce:    bn,
		Proof:    b.cfg.Keys.Proof(auth.RoleBroker, version, hello.Nonce, bn),
	}, nil)
	f, err = ReadFrame(br, maxHandshakeFrame)
	if err != nil || f.Op != OpAuth {
		// A client that cannot verify our proof hangs up here: no noise.
		return false
	}
	var ar AuthRequest
	if json.Unmarshal(f.Body, &ar) != nil || !b.cfg.Keys.VerifyProof(auth.RoleClient, version, hello.Nonce, bn, ar.Proof) {
		if ok, held := b.refusals.pass(b.cfg.Now()); ok {
			args := []any{"remote", nc.RemoteAddr().String()}
			if held > 0 {
				args = append(args, "more", held) // refused since the last warning, and not logged
			}
			b.log.Warn("handshake refused: wrong shared secret", args...)
		}
		answer(nc, f.ID, nil, ipcmesh.Errorf(ipcmesh.CodeUnauthorized,
			"the client could not prove it knows the shared secret: every peer of a mesh needs the same one"))
		return false
	}
	if !answer(nc, f.ID, AuthResponse{Broker: b.info}, nil) {
		return false
	}
	nc.SetDeadline(time.Time{})
	return true
}

// jsonNext reports whether the next byte br gives opens a JSON object, as
// a frame's payload does.
func jsonNext(br *bufio.Reader) bool {
	b, err := br.Peek(1)
	return err == nil && b[0] == '{'
}

// answer writes one handshake answer and reports whether it was written.
func answer(nc net.Conn, id uint64, res any, e *ipcmesh.Error) bool {
	f := &Frame{ID: id, Error: e}
	if res != nil {
		body, err := Marshal(res)
		if err != nil {
			return false
		}
		f.Body = body
	}
	return WriteFrame(nc, f) == nil
}
