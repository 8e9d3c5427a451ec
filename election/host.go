package election

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/proc"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// DefaultBrokerIdle is how long a detached broker keeps serving with no
// peer connected before it stops by itself (IPC_BROKER_IDLE).
const DefaultBrokerIdle = 10 * time.Minute

// host serves the broker on ln, the mesh port this peer has just won. With
// cfg.Detach the broker runs in a process of its own, so that nothing done
// to this process (Ctrl-Z, a debugger, an assistant's exit) stops the mesh;
// otherwise it runs here.
//
// A store a broker of this peer found damaged is not tried again until
// the file changes or damagedRetry has passed: the peer says why, as the
// broker did, without starting another to fail the same way.
func (p *Peer) host(ctx context.Context, ln net.Listener) error {
	if err := p.stillDamaged(); err != nil {
		ln.Close()
		return err
	}
	err := p.startHere(ctx, ln)
	p.noteHosted(err)
	return err
}

// startHere starts the broker on ln, in a process of its own (spawn) or in
// this one.
func (p *Peer) startHere(ctx context.Context, ln net.Listener) error {
	if len(p.cfg.Detach) > 0 {
		return p.spawn(ctx, ln)
	}
	b, err := startBroker(p.cfg, ln, false, nil)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.broker = b
	p.mu.Unlock()
	p.log.Info("hosting the broker", "addr", p.cfg.Addr, "data", p.cfg.DataDir)
	return nil
}

// startBroker opens the store and serves a broker on ln. The store's file
// lock guarantees that no two brokers ever share a data folder, whatever
// port they are on. On failure ln is closed, which resets the connections
// waiting in it: their peers try again. Work handed over to the next
// broker (a compact or restore) is done first, and working, if set, is
// told of it before.
func startBroker(cfg Config, ln net.Listener, detached bool, working func(op string)) (*ipc.Broker, error) {
	opts := cfg.Store
	opts.Dir = cfg.DataDir
	if opts.LockTimeout == 0 {
		opts.LockTimeout = 500 * time.Millisecond
	}
	rec := brokerRecord{PID: os.Getpid(), Addr: ln.Addr().String(), Started: time.Now().UTC(), Detached: detached}
	rec.Start, _ = proc.Started(rec.PID) // "" where the system does not tell: the pid alone counts
	// Say which process holds the port while it opens the store, so that
	// a peer whose hello waits meanwhile knows to wait rather than call
	// the port's holder a foreign program; but never over the record of
	// another live broker of this folder, whose store lock wins below.
	work, asked := pendingHandover(cfg)
	if other, alive := readBrokerRecord(cfg.DataDir); !alive || other.PID == rec.PID {
		opening := rec
		opening.Opening = true
		if asked {
			opening.Handover = work.Op
		}
		if err := writeBrokerRecord(cfg.DataDir, opening); err != nil {
			cfg.Logger.Warn("record the broker's pid", "err", err)
		}
	}
	if asked {
		if working != nil {
			working(work.Op)
		}
		if cfg.beforeWork != nil {
			cfg.beforeWork()
		}
		carryOut(cfg, work)
	}
	st, err := openStore(cfg, opts)
	if err != nil {
		ln.Close() // before the record goes, as holdingPort lets go
		removeBrokerRecord(cfg.DataDir, rec.PID)
		return nil, err
	}
	idle := time.Duration(0)
	if detached {
		idle = cfg.brokerIdle()
	}
	// Every broker makes a key, whether or not it can be asked to stop:
	// making and revoking access keys takes it too (ipc.KeyCreateRequest).
	rec.StopKey = rand.Text()
	b := ipc.NewBroker(ipc.Config{
		Store:       st,
		Keys:        cfg.Keys,
		SecretFrom:  cfg.SecretFrom,
		Addr:        ln.Addr().String(),
		SessionTTL:  cfg.SessionTTL,
		Limits:      cfg.Limits,
		Logger:      cfg.Logger,
		IdleTimeout: idle,
		Stop:        cfg.StopAsked,
		StopKey:     rec.StopKey,
	})
	if err := writeBrokerRecord(cfg.DataDir, rec); err != nil {
		// Only an error's wording depends on it: serve all the same.
		cfg.Logger.Warn("record the broker's pid", "err", err)
	}
	if cfg.secretPadding != "" {
		// A peer whose secret lacks it sees only a broker that cannot
		// prove the secret; this broker is not told of the peer at all.
		cfg.Logger.Warn("this broker's IPC_SHARED_SECRET " + cfg.secretPadding + ": whitespace is part of a secret as any character is, so peers whose secret has none cannot join; remove it if it is not meant")
	}
	go func() {
		if err := b.Serve(ln); err != nil && !errors.Is(err, ipc.ErrBrokerClosed) {
			// Serve has closed the listener; hand over the store too, or
			// the peer that binds the port next could not open it.
			cfg.Logger.Error("broker stopped serving; handing over", "err", err)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b.Shutdown(ctx)
		}
	}()
	return b, nil
}

// clusterOpenTimeout bounds the connection to a NATS cluster and the
// catch-up of the broker's view with its log, and is how long a peer
// waits for a broker that is opening its store.
const clusterOpenTimeout = time.Minute

// opensWithin is how long a peer waits for a broker that holds the port
// while it opens its store, or does the work handed over to it first.
func (cfg Config) opensWithin() time.Duration {
	if cfg.openWait > 0 {
		return cfg.openWait
	}
	return clusterOpenTimeout
}

// openStore opens the broker's store: the data folder's bbolt file, or with
// cfg.Cluster a view of the NATS cluster kept in the data folder.
func openStore(cfg Config, opts store.Options) (ipc.Store, error) {
	co := cfg.Cluster
	if co.URL == "" {
		// This folder's mesh is in a cluster: a peer taking over without
		// IPC_STORE must not split it with a store of its own.
		if co.URL, co.Prefix = cfg.StoreURL(); co.URL != "" {
			cfg.Logger.Info("serving the NATS cluster this data folder used last (IPC_STORE=bbolt goes back to the local store)", "store", natsstore.Redacted(co.URL))
			// Its credentials and CA files too, unless the environment
			// names others: an assistant's MCP server has none of the
			// broker's IPC_NATS_* settings.
			if r, ok := natsstore.Recorded(cfg.DataDir); ok {
				co.Creds = cmp.Or(co.Creds, r.Creds)
				co.CA = cmp.Or(co.CA, r.CA)
			}
		}
	}
	if co.URL == "" {
		return store.Open(opts)
	}
	co.Store = opts
	co.SecretTag = cfg.Keys.SessionTag()
	ctx, cancel := context.WithTimeout(context.Background(), clusterOpenTimeout)
	defer cancel()
	st, err := natsstore.Open(ctx, co, cfg.Logger)
	if other := (*natsstore.OtherSecretError)(nil); errors.As(err, &other) && cfg.SecretFrom == auth.SourceFile {
		// The likely cause: a host not given IPC_SHARED_SECRET made a
		// secret of its own.
		other.Yours = fmt.Sprintf("which is the one this data folder made for itself (%s), as IPC_SHARED_SECRET is unset here", auth.SecretFile(cfg.DataDir))
	}
	if other := (*natsstore.OtherSecretError)(nil); errors.As(err, &other) && cfg.secretPadding != "" {
		other.Yours = fmt.Sprintf("whose IPC_SHARED_SECRET %s: whitespace is part of a secret as any character is, so if the other hosts' has none, remove it", cfg.secretPadding)
	}
	if err != nil && cfg.Cluster.URL == "" {
		// Nobody here set IPC_STORE: say where the address came from, and
		// that it may be stale (the cluster moved, or ipcmesh cluster
		// started again found its old ports taken).
		return nil, fmt.Errorf("%w; this data folder's last broker kept the mesh in that cluster (%s): if its servers are elsewhere now, set IPC_STORE to them; IPC_STORE=bbolt goes back to the local store",
			err, filepath.Join(cfg.DataDir, "nats", "cluster.json"))
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// hostDetached serves the broker on ln in this process, as a detached
// broker does: it reports through rep (work handed over that it does
// first, then nil once it serves, or why it cannot) and serves until ctx ends or no peer has been connected for
// cfg.BrokerIdle, then hands over gracefully.
func hostDetached(ctx context.Context, cfg Config, ln net.Listener, rep reporter) error {
	asked := make(chan struct{})
	cfg.StopAsked = sync.OnceFunc(func() { close(asked) })
	b, err := startBroker(cfg, ln, true, rep.working)
	rep.started(err)
	if err != nil {
		return err
	}
	cfg.Logger.Info("serving as a detached broker", "addr", ln.Addr().String(), "data", cfg.DataDir, "pid", os.Getpid())
	why := "interrupted"
	select {
	case <-ctx.Done():
	case <-b.Idle():
		why = "no peer for " + cfg.brokerIdle().String()
	case <-asked:
		why = "asked to stop (ipcmesh stop)"
	}
	cfg.Logger.Info("stopping the detached broker", "why", why)
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = b.Shutdown(sctx)
	removeBrokerRecord(cfg.DataDir, os.Getpid())
	if err != nil {
		return fmt.Errorf("hand over the broker: %w", err)
	}
	return nil
}

// brokerIdle is how long a detached broker may go without a peer.
func (c Config) brokerIdle() time.Duration {
	if c.BrokerIdle > 0 {
		return c.BrokerIdle
	}
	return DefaultBrokerIdle
}

// ErrNotAnswering is what the errors of a peer's calls match (errors.Is)
// when the broker holds the mesh port but does not answer: it is stopped
// (Ctrl-Z, a debugger) or hung, and no peer can take its place until it
// answers again or exits.
var ErrNotAnswering = errors.New("the broker is not answering")

// notAnswering says which broker is not answering and what to do.
type notAnswering struct {
	pid  int
	addr string
	op   string        // the request that got no answer, "" for the hello
	due  time.Duration // how long it waited
}

// Error names the broker and the two ways out. The kill is kill -9: a
// stopped process leaves SIGTERM pending until it is resumed, so a plain
// kill would leave the port held and the mesh stalled.
func (e *notAnswering) Error() string {
	what := "is not answering"
	if e.op != "" {
		what = fmt.Sprintf("did not answer %s within %v", e.op, e.due.Round(time.Second))
	}
	return fmt.Sprintf("the broker (pid %d) on %s %s: %s, and a peer takes its place", e.pid, e.addr, what, unstickAdvice(runtime.GOOS, e.pid))
}

// unstickAdvice says, in the words of the system goos, why the process
// pid may not answer and how to get it going or end it: kill and fg mean
// nothing to a Windows user, and nothing there stops a process as Ctrl-Z
// does.
func unstickAdvice(goos string, pid int) string {
	if goos == "windows" {
		return fmt.Sprintf("it may be busy or hung; end it (taskkill /PID %d /F, or the Task Manager)", pid)
	}
	return fmt.Sprintf("it may be stopped (Ctrl-Z) or busy; resume it (fg, or kill -CONT %d) or kill it (kill -9 %d)", pid, pid)
}

func (e *notAnswering) Is(target error) bool { return target == ErrNotAnswering }

// opening is the error of a peer that waited for a broker that holds the
// port but is still opening its store: it answers once it has, or gives
// up within clusterOpenTimeout.
type opening struct {
	pid      int
	addr     string
	handover string // the work handed over that it does first: "compact" or "restore"
}

func (e *opening) Error() string {
	if e.handover != "" {
		return fmt.Sprintf("pid %d, which holds %s, is %s before a broker serves it: try again in a moment", e.pid, e.addr, Work{Op: e.handover}.Doing())
	}
	return fmt.Sprintf("the broker (pid %d) on %s is still opening its store (with IPC_STORE=nats://..., reaching the NATS cluster): try again in a moment; if it stays so, see its log", e.pid, e.addr)
}

// stillOpening reports whether a hello that went unanswered was made to a
// broker of this data folder that is opening its store.
func stillOpening(cfg Config, err error) (brokerRecord, bool) {
	if !errors.Is(err, ipc.ErrSilent) {
		return brokerRecord{}, false
	}
	rec, alive := readBrokerRecord(cfg.DataDir)
	return rec, alive && rec.Opening && samePort(rec.Addr, cfg.Addr)
}
