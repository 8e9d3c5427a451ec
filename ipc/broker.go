package ipc

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/store"
)

// ErrBrokerClosed is returned by Serve after Shutdown or Close.
var ErrBrokerClosed = errors.New("ipc: broker closed")

// Limits are the broker's protections against floods and oversize input.
// Zero fields take the defaults in parentheses.
type Limits struct {
	// OpsPerSecond and OpsBurst bound every op of one identity (500/s, burst
	// 1000): generous, so a busy agent or a polling check is never hurt.
	OpsPerSecond float64
	OpsBurst     int
	// RegisterPerSecond and RegisterBurst bound register and resume attempts
	// per connection (2/s, burst 10), which is where names get guessed.
	RegisterPerSecond float64
	RegisterBurst     int
	// HandshakesPerSecond and HandshakeBurst bound new connections across the
	// whole broker (100/s, burst 200), counted by the hellos they send: every
	// peer is on loopback, so a per address limit would be one limit anyway.
	HandshakesPerSecond float64
	HandshakeBurst      int
	// MaxFrame bounds one frame (DefaultMaxFrame).
	MaxFrame int
	// MaxInFlight bounds the requests one connection may have in flight
	// (64); past it the broker stops reading from that connection.
	MaxInFlight int
	// MaxWaiting bounds how many of those may be requests that may wait
	// (check, wait_reply): 32; one past it is refused with rate_limited.
	// A wait holds its slot until it ends or its client calls it off
	// (cancel), so waits that could take every slot kept the name's
	// sends and lists from being read.
	MaxWaiting int
	// WriteTimeout is how long a write to a client may block (10 s). A client
	// that stops reading is disconnected, not waited for.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the hello and auth exchange (5 s).
	HandshakeTimeout time.Duration
	// MaxHandshakes bounds the connections still in the handshake (256).
	// Each costs a goroutine and a small buffer; a new connection at the
	// bound closes the oldest of them, so that connections that never
	// finish the handshake cost bounded memory and cannot lock peers out.
	MaxHandshakes int
}

func (l *Limits) setDefaults() {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&l.OpsPerSecond, 500)
	defInt(&l.OpsBurst, 1000)
	def(&l.RegisterPerSecond, 2)
	defInt(&l.RegisterBurst, 10)
	def(&l.HandshakesPerSecond, 100)
	defInt(&l.HandshakeBurst, 200)
	defInt(&l.MaxFrame, DefaultMaxFrame)
	defInt(&l.MaxInFlight, 64)
	defInt(&l.MaxWaiting, 32)
	defInt(&l.MaxHandshakes, 256)
	if l.WriteTimeout == 0 {
		l.WriteTimeout = 10 * time.Second
	}
	if l.HandshakeTimeout == 0 {
		l.HandshakeTimeout = 5 * time.Second
	}
}

// Config configures a Broker.
type Config struct {
	// Store is where messages live. The broker owns it from now on: Shutdown
	// and Close close it. A Store that is also a Mesh shares the names and
	// the mail with the brokers of other hosts.
	Store Store
	// Keys prove the broker knows the shared secret and sign session tokens.
	Keys auth.Keys
	// SecretFrom says where the secret came from, for status.
	SecretFrom auth.Source
	// Addr is the address the broker serves, for status.
	Addr string
	// SessionTTL is how long a session token lives (24 h).
	SessionTTL time.Duration
	Limits     Limits
	Logger     *slog.Logger
	// Now is the clock (time.Now); tests move it.
	Now func() time.Time
	// IdleTimeout, when above 0, is how long the broker may go without any
	// authenticated connection before Idle is closed; the owner decides
	// whether to shut down.
	IdleTimeout time.Duration
	// Stop, when set, tells the broker's owner that a stop request with
	// StopKey came (the stop op): the owner then shuts the broker down
	// as it does on SIGTERM. It is called once, from the request's
	// handler, so it must not wait for the shutdown: Shutdown waits for
	// that handler. Unset, or with StopKey empty, the broker refuses stop
	// requests with unsupported, and ipcmesh stop signals its process.
	// StopKey, when set, must come with key_create and key_revoke too
	// (KeyCreateRequest), Stop set or not; unset, any peer may make and
	// revoke keys.
	Stop    func()
	StopKey string
}

// Broker serves the mesh: it authenticates connections, binds each to a
// session's name, stores messages and pushes them to connected recipients.
type Broker struct {
	cfg    Config
	store  Store
	mesh   Mesh // nil on one host
	log    *slog.Logger
	info   BrokerInfo
	tag    string // the secret's auth.Keys.SessionTag, kept with each session
	ops    *auth.Limiter
	regs   *auth.Limiter
	hellos *auth.Limiter
	// refusals is how often a refused handshake is logged (quiet).
	refusals quiet
	handles  sync.WaitGroup // requests being handled, across connections
	stopped  sync.Once      // cfg.Stop was called

	mu        sync.Mutex
	ln        net.Listener
	greetings *list.List // of *greeting: connections in the handshake, oldest first
	conns     map[*conn]struct{}
	closing   bool
	quit      chan struct{} // closed when shutting down: waits end at once
	nextConn  uint64

	// idle is closed once no conn has been open for IdleTimeout. Each time
	// the last conn leaves, a timer is armed with the next idleArm; a conn
	// that arrives counts the arm on, so a timer that fires for an earlier
	// one does nothing.
	idle       chan struct{}
	idleClosed bool
	idleArm    uint64
	idleTimer  *time.Timer

	// names guards the decisions about who holds a name (register,
	// resume, rename, and letting go of a name whose last connection
	// left), which read the store and then write it.
	names    sync.Mutex
	presence presence
}

// NewBroker returns a broker that serves cfg.Store.
func NewBroker(cfg Config) *Broker {
	cfg.Limits.setDefaults()
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := cfg.Limits
	b := &Broker{
		cfg:       cfg,
		store:     cfg.Store,
		log:       cfg.Logger,
		tag:       cfg.Keys.SessionTag(),
		ops:       auth.NewLimiter(l.OpsPerSecond, l.OpsBurst),
		regs:      auth.NewLimiter(l.RegisterPerSecond, l.RegisterBurst),
		hellos:    auth.NewLimiter(l.HandshakesPerSecond, l.HandshakeBurst),
		refusals:  quiet{every: time.Minute},
		greetings: list.New(),
		conns:     make(map[*conn]struct{}),
		quit:      make(chan struct{}),
		idle:      make(chan struct{}),
		info: BrokerInfo{
			PID:      os.Getpid(),
			Addr:     cfg.Addr,
			Started:  cfg.Now().UTC(),
			DataDir:  cfg.Store.Dir(),
			Revision: Revision,
			MaxFrame: l.MaxFrame,
		},
	}
	b.presence.init()
	if m, ok := cfg.Store.(Mesh); ok {
		b.mesh = m
		b.info.Cluster = true
		m.Arrivals(b.arrived)
		m.Revocations(b.revokedElsewhere)
	}
	return b
}

// Serve accepts connections on ln until Shutdown or Close. It always returns
// a non-nil error: ErrBrokerClosed after a shutdown. An accept that fails
// for a while (the process is out of file descriptors, say) is tried again
// after a pause, from 5 ms doubling up to 1 s, as net/http does; any other
// failure closes ln, so that the port is free for a peer to take over, and
// is returned. The broker goes on serving the connections it has.
func (b *Broker) Serve(ln net.Listener) error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		ln.Close()
		return ErrBrokerClosed
	}
	b.ln = ln
	if len(b.conns) == 0 {
		b.armIdle()
	}
	b.mu.Unlock()
	go b.housekeep()
	var pause time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if b.isClosing() {
				return ErrBrokerClosed
			}
			if !temporary(err) {
				// Nobody would accept on ln again, yet it would hold the
				// port and peers would keep dialing it.
				ln.Close()
				return fmt.Errorf("accept connections: %w", err)
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			b.log.Warn("accept failed; trying again", "err", err, "in", pause)
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-b.quit:
				t.Stop()
				return ErrBrokerClosed
			}
			continue
		}
		pause = 0
		g := b.greet(nc)
		if g == nil {
			nc.Close()
			continue
		}
		go b.serveGreeting(g)
	}
}

func (b *Broker) isClosing() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closing
}

func (b *Broker) dropConn(c *conn) {
	b.mu.Lock()
	delete(b.conns, c)
	if len(b.conns) == 0 {
		b.armIdle()
	}
	b.mu.Unlock()
	if name := c.leave(); name != "" {
		b.touch(name)
		// Under the lock that register and resume decide under: a
		// connection taking the name meanwhile is either bound by the time
		// release looks, or claims the name once the release is done. A
		// release racing the claim could delete the mesh-wide lease that
		// the claim had just found and kept as its own.
		b.names.Lock()
		b.release(name)
		b.names.Unlock()
	}
}

// Idle is closed once the broker has had no authenticated connection for
// Config.IdleTimeout, counted from Serve or from the last one leaving. It
// is never closed when IdleTimeout is 0.
func (b *Broker) Idle() <-chan struct{} { return b.idle }

// armIdle starts counting down to Idle, with b.mu held. Connections in the
// handshake do not count: a flood of them must not keep a broker alive.
func (b *Broker) armIdle() {
	if b.cfg.IdleTimeout <= 0 || b.idleClosed || b.closing {
		return
	}
	b.idleArm++
	arm := b.idleArm
	b.idleTimer = time.AfterFunc(b.cfg.IdleTimeout, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if arm == b.idleArm && !b.idleClosed {
			b.idleClosed = true
			close(b.idle)
		}
	})
}

// disarmIdle stops the countdown to Idle, with b.mu held: a conn arrived,
// or the broker is closing.
func (b *Broker) disarmIdle() {
	b.idleArm++
	if b.idleTimer != nil {
		b.idleTimer.Stop()
		b.idleTimer = nil
	}
}

// Shutdown hands over gracefully: it stops accepting, stops reading new
// requests, lets the requests being handled finish, closes the store (so
// the next broker can open it at once), and only then tells every client to
// elect the next broker. Requests that were not read yet stay in their
// clients and are sent again to the next broker, so no client sees an error.
func (b *Broker) Shutdown(ctx context.Context) error {
	conns := b.beginClose()
	for _, c := range conns {
		c.stopReading()
	}
	done := make(chan struct{})
	go func() { b.handles.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	b.flushSeenLast(ctx)
	err := b.store.Close()
	for _, c := range conns {
		c.goaway("broker shutting down")
	}
	// Wait until every goaway is on the wire: a process that exits right
	// after Shutdown must not leave its clients guessing.
	for _, c := range conns {
		select {
		case <-c.written:
		case <-ctx.Done():
			c.nc.Close()
		}
	}
	return err
}

// Close stops the broker at once: connections are cut, the store closed.
func (b *Broker) Close() error {
	conns := b.beginClose()
	for _, c := range conns {
		c.cutOff()
	}
	b.handles.Wait()
	b.flushSeenLast(context.Background())
	return b.store.Close()
}

func (b *Broker) beginClose() []*conn {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closing {
		b.closing = true
		b.disarmIdle()
		close(b.quit)
		if b.ln != nil {
			b.ln.Close()
		}
	}
	// A connection still in the handshake has nothing to lose: its client
	// sees the broker gone before it answered, and tries the next one.
	for e := b.greetings.Front(); e != nil; e = e.Next() {
		g := e.Value.(*greeting)
		g.elem = nil
		g.nc.Close()
	}
	b.greetings.Init()
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	return conns
}

// housekeep applies the retention rules and saves last-seen times now and
// then. Both are cheap: sweeps walk time-ordered indexes, not every message.
func (b *Broker) housekeep() {
	sweep := func() {
		st, err := b.store.Sweep(context.Background())
		if errors.Is(err, store.ErrClosed) {
			// The broker closed the store under the sweep: no fault, and
			// the next broker sweeps. A command that hosts the broker for
			// a moment would print it among its own lines.
			return
		}
		if err != nil {
			b.log.Warn("sweep", "err", err)
			return
		}
		if st != (store.SweepStats{}) {
			b.log.Info("sweep", "history", st.History, "queued", st.Queued, "forwards", st.Forwards, "dedup", st.Dedup, "posts", st.Posts, "orphans", st.Orphans, "instances", st.Instances)
		}
	}
	sweep()
	seen := time.NewTicker(30 * time.Second)
	defer seen.Stop()
	hourly := time.NewTicker(time.Hour)
	defer hourly.Stop()
	for {
		select {
		case <-b.quit:
			return
		case <-seen.C:
			b.flushSeen(context.Background())
		case <-hourly.C:
			sweep()
		}
	}
}
