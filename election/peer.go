package election

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// otherFolderDelay is how long a peer whose data folder differs from the
// lost broker's holds back from the election.
const otherFolderDelay = 300 * time.Millisecond

// maxUnreportedExits is how many detached brokers in a row one connect
// starts that exit before they report (killed while they open the store)
// before it gives up, saying so.
const maxUnreportedExits = 3

// HelloTimeout is how long a peer waits for a broker to answer its hello
// before it dials again (or, if the broker is opening its store, waits on).
const HelloTimeout = 3 * time.Second

// ErrClosed is returned by calls on a closed Peer.
var ErrClosed = errors.New("election: peer closed")

// Peer is one process's membership of the mesh.
type Peer struct {
	cfg     Config
	log     *slog.Logger
	keyring auth.Keyring
	closing chan struct{}
	done    chan struct{} // closed when the supervisor has stopped

	mu      sync.Mutex
	client  *ipc.Client
	ready   chan struct{} // closed once client is set (or fatal)
	fatal   error         // why the mesh cannot be reached right now
	broker  *ipc.Broker   // set while this process hosts the broker
	spawned int           // pid of the detached broker this peer started
	damaged *damagedStore // the last broker it started found the store damaged
	closed  bool

	sess    sessionState
	filters recent
	// turn keeps OnEvent's calls one at a time: the connection's read
	// loop makes them, and the supervisor after a reconnect (catchUp). A
	// channel, not a mutex, so that catchUp can stop waiting for it when
	// the peer closes (an OnEvent may call Close, which waits for the
	// supervisor).
	turn chan struct{}
	// piece is the longest wait one request asks a broker for (waitPiece);
	// tests shorten it.
	piece time.Duration
	// now tells how much of a wait asked for in pieces is left; tests
	// replace it to cut a wait the same way on a machine of any speed.
	now func() time.Time
}

// sessionState is what the peer needs to act as its name on any broker.
type sessionState struct {
	name, token string
	// pendingRename is the request id of a rename in flight, or of one
	// the broker did not answer, which it may still carry out; renameTo is
	// the name it asks for.
	pendingRename, renameTo string
	// renamedFrom is the name acted as before a resume found that such
	// a rename was carried out, and picked the session it made.
	renamedFrom string
	picked      ipc.Session
}

// Join makes the process a peer: it hosts the broker if the mesh port is
// free and joins the broker that holds it otherwise. It returns once
// connected, or with an error that names the port when something that is not
// an ipcmesh broker, or a broker with another secret, holds it.
func Join(ctx context.Context, cfg Config) (*Peer, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Store.Dir = cfg.DataDir
	if cfg.DataDir != "" {
		// The broker's record and log are written here before any store
		// opens, and with IPC_SHARED_SECRET set no secret file makes the
		// folder first.
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("make the data folder (IPC_DATA_DIR): %w", err)
		}
	}
	p := &Peer{
		cfg:     cfg,
		log:     cfg.Logger,
		keyring: auth.Keyring{Dir: cfg.DataDir},
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
		turn:    make(chan struct{}, 1),
		piece:   waitPiece,
		now:     time.Now,
	}
	p.filters.init(4096)
	c, err := p.connect(ctx, 0)
	if err != nil {
		p.stopBroker()
		return nil, err
	}
	p.setClient(c)
	go p.supervise(c)
	return p, nil
}

// IsBroker reports whether this process hosts the broker right now.
func (p *Peer) IsBroker() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.broker != nil
}

// Addr is the mesh address.
func (p *Peer) Addr() string { return p.cfg.Addr }

// DataDir is the data folder.
func (p *Peer) DataDir() string { return p.cfg.DataDir }

// Close leaves the mesh. A peer that hosts the broker hands over gracefully:
// the other peers elect the next broker without seeing an error.
func (p *Peer) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.done
		return nil
	}
	p.closed = true
	close(p.closing)
	p.mu.Unlock()
	<-p.done
	err := p.stopBroker()
	// Read only now: a reconnect whose handshake was under way as Close
	// began may have set a client since.
	p.mu.Lock()
	c := p.client
	p.mu.Unlock()
	if c != nil {
		c.Close()
	}
	return err
}

func (p *Peer) stopBroker() error {
	p.mu.Lock()
	b := p.broker
	p.broker = nil
	p.mu.Unlock()
	if b == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.Shutdown(ctx)
	removeBrokerRecord(p.cfg.DataDir, os.Getpid())
	return err
}

// connect binds the mesh port and hosts the broker, or dials the broker
// that holds it, and resumes the session there. Peers racing after a broker
// is lost wait a few random milliseconds first, so one wins the bind
// cleanly and the others find it. lost is the pid of the broker this peer
// was connected to, 0 for none.
func (p *Peer) connect(ctx context.Context, lost int) (*ipc.Client, error) {
	start := time.Now()
	var lastErr error
	exits := 0 // detached brokers that exited before they reported
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			backoff := min(time.Duration(attempt)*5*time.Millisecond, 200*time.Millisecond)
			d := backoff/2 + rand.N(backoff/2+time.Millisecond)
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-p.closing:
				return nil, ErrClosed
			}
			limit := 10 * time.Second
			if op := (*opening)(nil); errors.As(lastErr, &op) {
				limit = p.cfg.opensWithin()
			}
			if time.Since(start) > limit {
				if p.cfg.Dial != nil {
					return nil, fmt.Errorf("the broker in this process refused every connection for 10 s: %w; it is closing or stuck: restart this process (ipcmesh broker --http)", lastErr)
				}
				if errors.Is(lastErr, ipc.ErrConnLost) {
					// Hanging up on every hello for this long is no broker
					// starting or stopping.
					return nil, fmt.Errorf("cannot host or reach the mesh on %s: %w; something else holds the port: stop it or pick another port with IPC_PORT", p.cfg.Addr, lastErr)
				}
				return nil, fmt.Errorf("cannot host or reach the mesh on %s: %w", p.cfg.Addr, lastErr)
			}
		}
		if p.cfg.Dial != nil {
			c, err := p.dialInProcess(ctx)
			if errors.Is(err, ipc.ErrConnLost) {
				lastErr = err
				continue
			}
			return c, err
		}
		var bindErr error
		// A broker run in the foreground that takes the port (claim.go)
		// is dialled, not raced.
		if claimedByOther(p.cfg) {
			lastErr = errClaimed
		} else if ln, err := net.Listen("tcp", p.cfg.Addr); err == nil {
			if p.cfg.brokerErr != nil {
				// PeerFromEnv let a bad setting pass for a broker that
				// runs; none does, and none could start with it.
				ln.Close()
				return nil, fmt.Errorf("no broker runs on %s, and none can start with this environment: %w", p.cfg.Addr, p.cfg.brokerErr)
			}
			bound := ln.Addr().String()
			if err := p.host(ctx, ln); err != nil {
				if errors.Is(err, errPortTaken) {
					// Another peer won the port while the broker this
					// one started was starting (Windows, where the broker
					// binds the port itself): that peer's broker is the
					// one to dial, however long the start took.
					lastErr = err
					continue
				}
				if errors.Is(err, errExitedUnreported) {
					// Killed or crashed before it served: its port is
					// free, as after any broker lost, and the election
					// runs again. One that exits at every start is a
					// crash to show, not to start again and again.
					if exits++; exits < maxUnreportedExits {
						lastErr = err
						continue
					}
					return nil, fmt.Errorf("%w, as did the %d started before it", err, exits-1)
				}
				if errors.Is(err, store.ErrLocked) {
					if served := servedElsewhere(p.cfg); served != nil {
						return nil, served
					}
					if time.Since(start) < 3*time.Second {
						lastErr = err // the last broker may still be closing its store
						continue
					}
					if served := servedOnOtherHost(p.cfg, bound); served != nil {
						return nil, served
					}
				}
				return nil, err
			}
		} else {
			lastErr, bindErr = err, err
		}
		dctx, cancel := context.WithTimeout(ctx, HelloTimeout)
		c, err := ipc.Dial(dctx, p.cfg.Addr, p.cfg.Keys, p.dialOptions())
		cancel()
		if err == nil {
			if err := p.resumeOn(ctx, c); err != nil {
				c.Close()
				if errors.Is(err, ipc.ErrConnLost) {
					continue
				}
				return nil, err
			}
			return c, nil
		}
		if rec, ok := stillOpening(p.cfg, err); ok {
			lastErr = &opening{pid: rec.PID, addr: p.cfg.Addr, handover: rec.Handover}
			continue
		}
		if fatal := refusal(p.cfg, err); fatal != nil {
			return nil, fatal
		}
		lastErr = err
		if bindErr != nil && refused(err) && time.Since(start) > refusedGrace && !portMayFree(p.cfg, bindErr, lost) {
			return nil, &noHost{addr: p.cfg.Addr, dial: err, bind: bindErr}
		}
	}
}

// dialInProcess connects through cfg.Dial to the broker in this process
// and resumes the session there. Only a connection lost on the way is
// worth another try: a broker in this process that is gone or refuses
// stays so.
func (p *Peer) dialInProcess(ctx context.Context) (*ipc.Client, error) {
	nc, err := p.cfg.Dial(ctx)
	if err != nil {
		return nil, fmt.Errorf("reach the broker in this process: %w", err)
	}
	hctx, cancel := context.WithTimeout(ctx, HelloTimeout)
	c, err := ipc.NewClient(hctx, nc, p.cfg.Keys, p.dialOptions())
	cancel()
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("reach the broker in this process: %w", err)
	}
	if err := p.resumeOn(ctx, c); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// dialOptions are the options of every connection this peer makes to a
// broker, over TCP or in memory.
func (p *Peer) dialOptions() ipc.DialOptions {
	return ipc.DialOptions{MaxFrame: p.cfg.Limits.MaxFrame, OnEvent: p.onEvent}
}

// Pipe returns an in-memory connection to the broker this peer hosts in
// its process (ipc.Broker.Pipe), for Config.Dial.
func (p *Peer) Pipe(ctx context.Context) (net.Conn, error) {
	p.mu.Lock()
	b := p.broker
	p.mu.Unlock()
	if b == nil {
		return nil, fmt.Errorf("the broker of %s is not hosted in this process", p.cfg.Addr)
	}
	return b.Pipe()
}

// refusal turns a handshake failure that retrying cannot fix into an error
// a person can act on; it returns nil for errors worth another try. A
// listener that stays silent is a stopped or hung broker when the data
// folder's record names a live one on this port, one still opening its
// store (or a compact or restore under way) when the record says so, and
// a foreign program otherwise.
func refusal(cfg Config, err error) error {
	addr := cfg.Addr
	if errors.Is(err, ipc.ErrSilent) {
		if rec, alive := readBrokerRecord(cfg.DataDir); alive && samePort(rec.Addr, addr) {
			if rec.Opening {
				// Silent for now, and for a reason: killing it would
				// help nothing (a compact or restore under way).
				return &opening{pid: rec.PID, addr: addr, handover: rec.Handover}
			}
			return &notAnswering{pid: rec.PID, addr: addr}
		}
	}
	switch {
	case errors.Is(err, ipc.ErrNotMesh):
		// err reads "not an ipcmesh broker (why)": say it once.
		why, ok := strings.CutPrefix(err.Error(), ipc.ErrNotMesh.Error())
		if !ok {
			why = " (" + err.Error() + ")"
		}
		return fmt.Errorf("the mesh port %s is held by a program that is not an ipcmesh broker%s; nothing was sent to it: stop that program or pick another port with IPC_PORT", addr, why)
	case errors.Is(err, ipc.ErrBrokerProof):
		return otherSecret(cfg)
	}
	switch ipcmesh.CodeOf(err) {
	case ipcmesh.CodeUnauthorized:
		return fmt.Errorf("the broker on %s refused this peer's proof of the shared secret: give every peer the same IPC_SHARED_SECRET (or leave it unset everywhere to use the secret file in the same data folder)%s", addr, cfg.paddingHint())
	case ipcmesh.CodeUnsupported:
		return fmt.Errorf("the broker on %s: %w", addr, err)
	}
	return nil
}

// otherSecret words a broker that could not prove it knows the secret.
// That is seldom an attacker: most often another mesh holds the port, the
// peers of another data folder (each has its own secret file) or another
// user's on the same machine. When this data folder's own broker holds the
// port, only IPC_SHARED_SECRET can differ.
func otherSecret(cfg Config) error {
	addr := cfg.Addr
	if rec, alive := readBrokerRecord(cfg.DataDir); alive && samePort(rec.Addr, addr) {
		return fmt.Errorf("the broker on %s (pid %d, started from this data folder) could not prove it knows this peer's shared secret, so nothing was sent to it: "+
			"it runs with another IPC_SHARED_SECRET; give every peer the same one, or leave it unset everywhere to use the data folder's secret file%s", addr, rec.PID, cfg.paddingHint())
	}
	return fmt.Errorf("the broker on %s could not prove it knows this peer's shared secret, so nothing was sent to it. "+
		"Most likely it serves another mesh: peers started with another IPC_DATA_DIR (each data folder has its own secret), or another user's on this machine; "+
		"else it is an impostor. To join it, use its IPC_DATA_DIR or IPC_SHARED_SECRET (this peer's data folder is %s); "+
		"to keep a mesh of your own beside it, give all of your peers and clients another IPC_PORT%s", addr, cfg.DataDir, cfg.paddingHint())
}

// supervise waits for the connection to end and replaces it, until Close.
// It also renews the session before its token can expire.
func (p *Peer) supervise(c *ipc.Client) {
	defer close(p.done)
	renew := time.NewTicker(p.renewEvery())
	defer renew.Stop()
	for {
		select {
		case <-p.closing:
			return
		case <-renew.C:
			p.renew(c)
			continue
		case <-c.Done():
		}
		lost := time.Now()
		p.markLost(c)
		// A broker we hosted whose own connection died is not serving
		// anyone well: stop it so that the election can run cleanly.
		p.stopBroker()
		// Every survivor noticed the loss at the same instant; a few random
		// milliseconds spread their binds so one wins cleanly and the others
		// find it on their first dial.
		delay := rand.N(10 * time.Millisecond)
		if dir := c.Broker().DataDir; dir != "" && dir != p.cfg.DataDir {
			// A peer of another data folder would serve another store, and
			// the mail in the lost broker's would drop out of sight. Let the
			// peers of that folder win; take over only if none is left.
			delay += otherFolderDelay
		}
		select {
		case <-time.After(delay):
		case <-p.closing:
			return
		}
		for {
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-p.closing:
					cancel()
				case <-ctx.Done():
				}
			}()
			nc, err := p.connect(ctx, c.Broker().PID)
			cancel()
			if err == nil {
				c = nc
				p.setClient(c)
				p.catchUp(c, lost)
				break
			}
			if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) {
				return
			}
			p.setFatal(err)
			p.log.Warn("cannot rejoin the mesh", "err", err)
			select {
			case <-time.After(time.Second):
			case <-p.closing:
				return
			}
		}
	}
}

func (p *Peer) renewEvery() time.Duration {
	ttl := p.cfg.SessionTTL
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	return ttl / 4
}

func (p *Peer) renew(c *ipc.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.resumeOn(ctx, c); err != nil {
		p.log.Warn("renew session", "err", err)
	}
}

func (p *Peer) setClient(c *ipc.Client) {
	p.mu.Lock()
	p.client = c
	p.fatal = nil
	select {
	case <-p.ready:
	default:
		close(p.ready)
	}
	p.mu.Unlock()
	if p.cfg.OnConnection != nil {
		p.cfg.OnConnection(c.Broker(), true)
	}
}

// setFatal makes err, why the peer cannot rejoin the mesh, the error of
// the calls made until it does (ErrUnreachable).
func (p *Peer) setFatal(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fatal = &unreachable{err: err, private: p.cfg.CallersElsewhere}
	select {
	case <-p.ready:
	default:
		close(p.ready)
	}
}

// markLost forgets c if it is still the current connection, so callers
// wait for the next one.
func (p *Peer) markLost(c *ipc.Client) {
	p.mu.Lock()
	lost := p.client == c
	if lost {
		p.client = nil
		p.ready = make(chan struct{})
	}
	p.mu.Unlock()
	if lost && p.cfg.OnConnection != nil {
		p.cfg.OnConnection(c.Broker(), false)
	}
}

// current returns a live connection, waiting for one while an election runs.
func (p *Peer) current(ctx context.Context) (*ipc.Client, error) {
	for {
		p.mu.Lock()
		c, ready, fatal, closed := p.client, p.ready, p.fatal, p.closed
		p.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if c != nil {
			select {
			case <-c.Done():
				p.markLost(c)
				continue
			default:
				return c, nil
			}
		}
		if fatal != nil {
			return nil, fatal
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.closing:
			return nil, ErrClosed
		}
	}
}

// onEvent passes pushed events on, dropping messages already seen: after a
// failover the next broker may push a message again, and catchUp hands on
// what it finds unread.
func (p *Peer) onEvent(ev ipc.Event) { p.deliver(ev, nil) }

// deliver passes ev on to OnEvent in its turn, unless stop closes first;
// it reports whether it had its turn.
func (p *Peer) deliver(ev ipc.Event, stop <-chan struct{}) bool {
	if ev.Name == ipc.EventGoaway || p.cfg.OnEvent == nil {
		return true
	}
	select {
	case p.turn <- struct{}{}:
	case <-stop:
		return false
	}
	defer func() { <-p.turn }()
	if ev.Name == ipc.EventMessage {
		if id := messageID(ev.Body); id != "" && !p.filters.pushed.add(id) {
			return true
		}
	}
	p.cfg.OnEvent(ev)
	return true
}
