package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sessions keeps one peer of the mesh per name acting through the face.
// A name's peer is registered on the first request that needs the name,
// shared by every request and stream of that name (whichever of its keys
// they carry), and closed once the name has had no request and no stream
// for Options.Idle, or once it no longer acts as the name.
//
// The face's data folder keeps the name's session token, so a process
// sharing that folder joins the face's session and may rename the name or
// unregister it. The peer then acts as the new name, or as none, while
// the keys it serves are bound to the old one: a key acts as its own name
// and nobody else. So the peer is let go, the requests and streams using
// it end, and the next request starts a new session for the key's name.
// The broker pushes renamed and unregistered to the peer; a peer whose
// connection was made anew while its session ended finds no session to
// resume and has no name.
type sessions struct {
	s *Server

	mu      sync.Mutex
	byName  map[string]*session
	leaving map[string]chan struct{} // closed once that name's old peer has left
	closed  bool
	wg      sync.WaitGroup // peers being closed
	open    map[string]int // key id -> its uses in progress (keycap.go)

	// onLeave, when set (by tests), is called once a name's peer has left,
	// for being idle or for no longer acting as the name.
	onLeave func(name string)
}

// session is one name's peer and what is using it.
type session struct {
	m        *sessions
	name     string
	takeBack bool          // register the name on purpose: take it back if it was renamed away
	ready    chan struct{} // closed once peer is registered, or err is set
	peer     *election.Peer
	err      error

	// Guarded by m.mu.
	ok      bool          // registered and serving
	lost    error         // why the peer no longer acts as the name; its uses ended with it
	uses    map[*use]bool // requests and streams in progress
	idle    *time.Timer   // runs while uses is empty
	idleGen int           // tells a stale timer from the current one
	// What the face may trust without asking the broker (livekeys.go):
	// hears is set while the peer's connection can be told of every
	// revocation of the name's keys; epoch changes whenever one may have
	// been missed or has arrived; live holds the keys checked since.
	hears   bool
	epoch   uint64
	live    map[string]ipcmesh.AccessKey
	waiters map[*mailWaiter]bool // checks waiting for a push (wait.go)

	// The MCP faces of the name, made on first use.
	mcpOnce sync.Once
	mcpSrv  *mcp.Server
	sse     *mcp.SSEHandler
}

// use is one request or stream acting as a name. Its context ends when the
// request does, when the key it came with is revoked, when an event stream
// falls behind, or when the face closes.
type use struct {
	sess   *session
	keyID  string
	ctx    context.Context
	cancel context.CancelCauseFunc
	// events receives the name's new messages; nil unless the use is an
	// event stream.
	events chan pushed
	// freeBody, if set, uncounts the request's body (bodyBudget) when the
	// use ends.
	freeBody func()
}

// pushed is a message as an event stream sends it: its id and seq, and
// its JSON on one line.
type pushed struct {
	id   string
	seq  uint64
	data []byte
}

// eventBuffer is how many pushed messages an event stream may fall behind
// before it is ended; the client reconnects and reads the rest with GET
// /api/v1/messages.
const eventBuffer = 256

var (
	errSlow = ipcmesh.Errorf(ipcmesh.CodeRateLimited, "the event stream fell behind and was ended: reconnect, and read what is unread with GET /api/v1/messages")
)

func newSessions(s *Server) *sessions {
	return &sessions{s: s, byName: map[string]*session{}, leaving: map[string]chan struct{}{}, open: map[string]int{}}
}

// acquire returns a use of the name key acts as, registering the name
// first if no request has used it lately. events asks for the name's new
// messages. register asks for the name on purpose: a name renamed away is
// taken back, which ends its forward, where a request that only acts as
// the name is refused with renamed. Call release when done.
func (m *sessions) acquire(ctx context.Context, key ipcmesh.AccessKey, events, register bool) (*use, error) {
	u, err := m.tryAcquire(ctx, key, events, register)
	if register && ipcmesh.CodeOf(err) == ipcmesh.CodeRenamed {
		// The refusal came to a session another request started, which
		// only acted as the name; it is gone now, and this one takes it.
		u, err = m.tryAcquire(ctx, key, events, register)
	}
	return u, err
}

func (m *sessions) tryAcquire(ctx context.Context, key ipcmesh.AccessKey, events, register bool) (*use, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errClosing
	}
	sess := m.byName[key.Name]
	if sess != nil && sess.ok && sess.peer.Name() != sess.name {
		m.loseLocked(sess, sessionEnded(sess.name, "elsewhere"))
		sess = nil
	}
	if sess != nil && sess.lost != nil {
		// Lost while it registered: it is let go once it has.
		m.mu.Unlock()
		return nil, sess.lost
	}
	if err := m.openLocked(key.ID); err != nil {
		m.mu.Unlock()
		return nil, err
	}
	if sess == nil {
		sess = &session{m: m, name: key.Name, takeBack: register, ready: make(chan struct{}), uses: map[*use]bool{}}
		m.byName[key.Name] = sess
		go sess.start(m.leaving[key.Name])
	}
	u := &use{sess: sess, keyID: key.ID}
	u.ctx, u.cancel = context.WithCancelCause(ctx)
	if events {
		u.events = make(chan pushed, eventBuffer)
	}
	sess.uses[u] = true
	if sess.idle != nil {
		sess.idle.Stop()
		sess.idle = nil
	}
	m.mu.Unlock()

	select {
	case <-sess.ready:
	case <-ctx.Done():
		u.release()
		return nil, ctx.Err()
	}
	if sess.err != nil {
		u.release()
		return nil, sess.err
	}
	return u, nil
}

// start joins the mesh and registers the name. It runs on its own, not in
// the first request, so that a client that hangs up does not fail the
// others waiting for the same name. A peer of the name still leaving (it
// was idle) is waited for, so that the two do not hold the name at once.
func (sess *session) start(prev chan struct{}) {
	m := sess.m
	ctx, cancel := context.WithTimeout(m.s.ctx, setupTimeout)
	defer cancel()
	var err error
	if prev != nil {
		select {
		case <-prev:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	var p *election.Peer
	if err == nil {
		cfg := m.s.opts.Mesh
		cfg.Subscribe, cfg.KeepCurrent, cfg.OnEvent = true, true, sess.onEvent
		cfg.KeepsKeys, cfg.CallersElsewhere = true, true
		cfg.OnConnection = sess.onConnection
		p, err = election.Join(ctx, cfg)
		if err == nil {
			// A request acts as its key's name, and does not take back a
			// name renamed away by accident (PROTOCOL.md, register step 6):
			// that ends the forward the rename made. Only a register asks
			// for the name on purpose.
			if sess.takeBack {
				_, err = p.Register(ctx, sess.name)
			} else {
				_, err = p.Claim(ctx, sess.name)
			}
			if err != nil {
				p.Close()
				p = nil
			}
		}
	}
	if err != nil {
		var e *ipcmesh.Error
		if errors.As(err, &e) && e.Code == ipcmesh.CodeRenamed && len(e.Suggestions) > 0 {
			err = renamedAway(sess.name, e.Suggestions[0])
		} else if e, ok := meshError(ctx, err); ok {
			err = e
		} else {
			err = fmt.Errorf("act as %s on the mesh: %w", sess.name, err)
		}
	}
	m.mu.Lock()
	sess.peer, sess.err = p, err
	if err == nil {
		sess.ok = true
		if sess.lost != nil {
			m.dropLocked(sess)
		} else {
			// Every request that waited may have given up meanwhile.
			m.idleLocked(sess)
		}
	} else if m.byName[sess.name] == sess {
		// The next request tries again: the name may be free by then.
		delete(m.byName, sess.name)
	}
	m.mu.Unlock()
	close(sess.ready)
	if err == nil {
		m.s.log.Info("acting as a name on the mesh", "name", sess.name)
	}
}

// release ends u. The last use of a name starts its idle timer.
func (u *use) release() {
	u.cancel(nil)
	if u.freeBody != nil {
		u.freeBody()
	}
	sess := u.sess
	m := sess.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closedLocked(u.keyID)
	delete(sess.uses, u)
	m.idleLocked(sess)
}

// idleLocked starts sess's idle timer if nothing uses it. m.mu is held.
func (m *sessions) idleLocked(sess *session) {
	if len(sess.uses) > 0 || !sess.ok || m.closed || m.byName[sess.name] != sess {
		return
	}
	sess.idleGen++
	gen := sess.idleGen
	sess.idle = time.AfterFunc(m.s.opts.Idle, func() { m.expire(sess, gen) })
}

// expire closes sess's peer if it is still idle.
func (m *sessions) expire(sess *session, gen int) {
	m.mu.Lock()
	if m.closed || m.byName[sess.name] != sess || len(sess.uses) > 0 || sess.idleGen != gen {
		m.mu.Unlock()
		return
	}
	delete(m.byName, sess.name)
	gone := make(chan struct{})
	m.leaving[sess.name] = gone
	m.wg.Add(1)
	m.mu.Unlock()
	m.leave(sess, gone, "idle name left the mesh")
}

// lose ends sess, whose peer no longer acts as its name: see loseLocked.
func (m *sessions) lose(sess *session, cause error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loseLocked(sess, cause)
}

// loseLocked ends sess, whose peer no longer acts as its name, for cause:
// its requests and streams end with cause, which they answer, and the
// next request of the name starts a new session. m.mu is held.
func (m *sessions) loseLocked(sess *session, cause error) {
	if sess.lost != nil {
		return
	}
	sess.lost = cause
	sess.forgetKeysLocked()
	for u := range sess.uses {
		u.cancel(cause)
	}
	if sess.ok {
		m.dropLocked(sess)
	}
	// A session still registering is let go by start once it has.
}

// dropLocked forgets sess, which is lost, and closes its peer. A new
// session of the name need not wait for that, as expire's must: the peer
// does not hold the name. m.mu is held.
func (m *sessions) dropLocked(sess *session) {
	if m.closed || m.byName[sess.name] != sess {
		return // close closes it, or it has left already
	}
	delete(m.byName, sess.name)
	if sess.idle != nil {
		sess.idle.Stop()
		sess.idle = nil
	}
	m.wg.Add(1)
	go m.leave(sess, nil, "a name's peer no longer acts as the name and left the mesh")
}

// leave closes the peer of sess, which m no longer holds, and then gone
// if not nil. Its caller has added it to m.wg.
func (m *sessions) leave(sess *session, gone chan struct{}, why string) {
	defer m.wg.Done()
	if err := sess.peer.Close(); err != nil {
		m.s.log.Warn("close a name's peer", "name", sess.name, "err", err)
	}
	m.s.log.Info(why, "name", sess.name)
	m.mu.Lock()
	if gone != nil && m.leaving[sess.name] == gone {
		delete(m.leaving, sess.name)
	}
	hook := m.onLeave
	m.mu.Unlock()
	if gone != nil {
		close(gone)
	}
	if hook != nil {
		hook(sess.name)
	}
}

// close ends every use and closes every name's peer; new acquires fail.
func (m *sessions) close() error {
	m.mu.Lock()
	m.closed = true
	all := make([]*session, 0, len(m.byName))
	for _, sess := range m.byName {
		all = append(all, sess)
		for u := range sess.uses {
			u.cancel(errClosing)
		}
		if sess.idle != nil {
			sess.idle.Stop()
		}
	}
	m.byName = map[string]*session{}
	m.mu.Unlock()
	m.wg.Wait()

	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, sess := range all {
		wg.Go(func() {
			<-sess.ready // start gives up at once: the face's context has ended
			if sess.peer != nil {
				if err := sess.peer.Close(); err != nil {
					errs[i] = fmt.Errorf("close the peer of %s: %w", sess.name, err)
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// onEvent fans the name's pushed events out to its streams and waiting
// checks, decoding each once, and only when a stream waits for it. It
// runs in the peer's read loop and must not block: a stream that cannot
// take a message at once is ended instead. The decoding is done outside
// m.mu, which every name's requests take: a large message must not hold
// them up.
func (sess *session) onEvent(ev ipc.Event) {
	switch ev.Name {
	case ipc.EventMessage:
		if !sess.streaming() {
			// A waiting check needs only to be woken: it reads the
			// inbox (wait.go).
			sess.wakeWaiters()
			return
		}
		var msg ipcmesh.Message
		if err := json.Unmarshal(ev.Body, &msg); err != nil {
			sess.m.s.log.Warn("a pushed message is not valid JSON", "name", sess.name, "err", err)
			return
		}
		var buf bytes.Buffer
		json.Compact(&buf, ev.Body) // valid: it decoded above
		p := pushed{id: msg.ID, seq: msg.Seq, data: buf.Bytes()}
		if msg.Path != "" {
			// A large message: its file is on this machine (paths.go).
			msg.Path = ""
			data, err := json.Marshal(msg)
			if err != nil {
				sess.m.s.log.Warn("a pushed message cannot be encoded again", "name", sess.name, "err", err)
				return
			}
			p.data = data
		}
		sess.m.mu.Lock()
		defer sess.m.mu.Unlock()
		if sess.lost != nil {
			return // mail of whatever the peer acts as now, not of the name
		}
		sess.pushedLocked()
		for u := range sess.uses {
			if u.events == nil {
				continue
			}
			select {
			case u.events <- p:
			default:
				u.cancel(errSlow)
			}
		}
	case ipc.EventKeyRevoked:
		var k ipcmesh.AccessKey
		if err := json.Unmarshal(ev.Body, &k); err != nil || k.ID == "" {
			sess.m.s.log.Warn("a key_revoked event names no key", "name", sess.name, "err", err)
			return
		}
		sess.m.s.log.Info("access key revoked: ending its requests and streams", "name", sess.name, "key_id", k.ID)
		sess.m.revoke(k.ID)
		// This is the connection's read loop, where the answer to a call
		// is read: say so from another goroutine.
		go sess.forgot(k.ID)
	case ipc.EventRenamed:
		// Every subscribed connection hears of every rename. The broker
		// moves each connection of the old name to the new one, this
		// peer's too, if the name is this session's.
		var r ipc.RenamedEvent
		if err := json.Unmarshal(ev.Body, &r); err != nil || r.Old != sess.name {
			return
		}
		sess.m.s.log.Info("the name was renamed on another connection of its session: its requests and streams end", "name", sess.name, "new", r.New)
		sess.m.lose(sess, renamedAway(r.Old, r.New))
	case ipc.EventUnregistered:
		var r ipc.UnregisteredEvent
		if err := json.Unmarshal(ev.Body, &r); err != nil || r.Name != sess.name {
			return
		}
		sess.m.s.log.Info("the name was unregistered on another connection of its session: its requests and streams end", "name", sess.name)
		sess.m.lose(sess, sessionEnded(sess.name, "by an unregister on another connection"))
	}
}

// sessionEnded ends the requests and streams of a name whose session
// ended, as how says. Sent again, a request registers the name anew.
func sessionEnded(name, how string) *ipcmesh.Error {
	return ipcmesh.Errorf(ipcmesh.CodeNotRegistered,
		"%s's session was ended %s while this request ran: send it again, and %s is registered anew", name, how, name)
}

// renamedAway is the refusal of a request whose key's name was renamed
// away. A key acts as its own name only, so the face neither follows the
// rename nor takes the name back unless asked to.
func renamedAway(name, to string) *ipcmesh.Error {
	return &ipcmesh.Error{
		Code: ipcmesh.CodeRenamed,
		Message: fmt.Sprintf("%s was renamed to %s, and mail to %s is forwarded there; this key acts as %s only: "+
			"act as %s with a key made for it (ipcmesh key create %s), or take %s back with POST /api/v1/register, which ends the forward",
			name, to, name, name, to, to, name),
		Suggestions: []string{to},
	}
}

// forgot tells the broker that the face forgot the revoked key id: the
// revoke is answered only then (election.Config.KeepsKeys), so that a
// request the revoker makes next through the face is refused.
func (sess *session) forgot(id string) {
	<-sess.ready
	if sess.peer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(sess.m.s.ctx, setupTimeout)
	defer cancel()
	if err := sess.peer.ForgotKey(ctx, id); err != nil {
		sess.m.s.log.Debug("could not tell the broker a revoked key is forgotten", "name", sess.name, "key_id", id, "err", err)
	}
}

// streaming reports whether an event stream of the name would take a
// pushed message.
func (sess *session) streaming() bool {
	sess.m.mu.Lock()
	defer sess.m.mu.Unlock()
	for u := range sess.uses {
		if u.events != nil {
			return true
		}
	}
	return false
}

// revoke forgets the key with id and ends every use of it, whichever name
// it is on.
func (m *sessions) revoke(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, sess := range m.byName {
		sess.forgetKeysLocked()
		for u := range sess.uses {
			if u.keyID == id {
				u.cancel(revokedErr(sess.name, id))
			}
		}
	}
}

// revokedErr ends the requests and streams of a key revoked while they
// ran, in the words of the broker's refusal of a revoked key.
func revokedErr(name, id string) error {
	return keyRefused(ipcmesh.Errorf(ipcmesh.CodeUnauthorized, "access key %s of %s was revoked", id, name), name)
}

// useKey carries a request's use to the MCP handlers' getServer.
type useKey struct{}

func useOf(r *http.Request) *use {
	u, _ := r.Context().Value(useKey{}).(*use)
	return u
}
