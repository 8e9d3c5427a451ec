package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
)

// Defaults of NodeConfig.
const (
	DefaultHost        = "127.0.0.1"
	DefaultClusterName = "ipcmesh"
)

// startTimeout bounds the wait for a node, or a whole Local, to be ready
// when the caller's context sets no deadline: a node that cannot bind or
// cannot open its store says so within seconds, never hangs a command.
const startTimeout = 10 * time.Second

// NodeConfig describes one embedded NATS JetStream node.
type NodeConfig struct {
	// Name is the server name, unique in the cluster. JetStream's raft
	// groups know a node by it, so a node restarted under another name is
	// a new member, and its old self stays a missing peer: StartNode
	// refuses a data folder whose node had another name (NodeNameError).
	Name string
	// Dir is the JetStream store folder; it is created 0700 if missing.
	Dir string
	// Host is the address the client and cluster ports bind
	// (DefaultHost). Anything other than loopback is reachable from other
	// machines, which have then the run of the store: the nodes have no
	// authentication of their own.
	Host string
	// Port is the client port; 0 picks a free one (Node.Port tells which),
	// below the range the system gives outgoing connections (freeport).
	Port int
	// ClusterName must be the same on every node of a cluster
	// (DefaultClusterName).
	ClusterName string
	// ClusterPort is the port other nodes route to; 0 picks a free one.
	// Without Routes the node runs on its own and opens no cluster port:
	// JetStream refuses to cluster with no peer configured.
	ClusterPort int
	// Routes are the route URLs (nats-route://host:port) of the other
	// nodes. A node keeps dialling those that are not up yet, so every
	// node of a cluster can be started with the full list, in any order.
	Routes []string
	// Logger receives the server's log; nil keeps it silent. Trace lines
	// (every protocol operation) go out below slog.LevelDebug, at
	// LevelTrace, so a debug logger does not drown in them.
	Logger *slog.Logger
}

// LevelTrace is the slog level of the server's trace lines.
const LevelTrace = slog.LevelDebug - 4

// Node is a running embedded NATS server with JetStream.
type Node struct {
	cfg     NodeConfig // with the ports it bound
	srv     *server.Server
	unlock  func()    // lets go of the data folder
	stopped sync.Once // Shutdown's unlock
}

// StartNode starts a node and returns once it accepts client and route
// connections. Joining a JetStream cluster may take longer: that needs a
// quorum of its peers, which a single node cannot wait for. Without a
// deadline in ctx, StartNode waits at most 10 s.
func StartNode(ctx context.Context, cfg NodeConfig) (*Node, error) {
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = DefaultClusterName
	}
	// Ports left to pick are picked here, and not by the server, which
	// would take one of the range outgoing connections get theirs from:
	// the node's restart on them could find one taken (see freeport).
	if cfg.Port == 0 || cfg.ClusterPort == 0 && len(cfg.Routes) > 0 {
		ports, err := freeport.Pick(cfg.Host, 2)
		if err != nil {
			return nil, fmt.Errorf("start NATS node %s: %w", cfg.Name, err)
		}
		if cfg.Port == 0 {
			cfg.Port = ports[0]
		}
		if cfg.ClusterPort == 0 && len(cfg.Routes) > 0 {
			cfg.ClusterPort = ports[1]
		}
	}
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	fail := func(err error) (*Node, error) {
		return nil, fmt.Errorf("start NATS node %s on %s: %w", cfg.Name, addr, err)
	}
	opts, err := cfg.options()
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return fail(fmt.Errorf("make its data folder: %w", err))
	}
	unlock, err := lockDir(cfg.Dir)
	if err != nil {
		return fail(err)
	}
	if err := claimName(cfg.Dir, cfg.Name); err != nil {
		unlock()
		return fail(err)
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		unlock()
		return fail(err)
	}
	log := newLogBridge(cfg.Logger, cfg.Name)
	srv.SetLoggerV2(log, log.enabled(slog.LevelDebug), log.enabled(LevelTrace), false)

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	// Start sets up synchronously (JetStream recovers its store here) and
	// leaves the listeners to goroutines, which report a failed bind only
	// through the logger; hence the bridge's fatal channel.
	srv.Start()
	if err := waitReady(ctx, srv, log.fatal); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		unlock()
		return fail(err)
	}
	n := &Node{cfg: cfg, srv: srv, unlock: unlock}
	if a, ok := srv.Addr().(*net.TCPAddr); ok {
		n.cfg.Port = a.Port
	}
	if a := srv.ClusterAddr(); a != nil {
		n.cfg.ClusterPort = a.Port
	}
	return n, nil
}

// nameFile, in a node's data folder, holds the name of the node whose
// data it is.
const nameFile = "node-name"

// NodeNameError is the error of a node started on the data folder of a
// node of another name. JetStream knows the members of a cluster by their
// names: under another, the node joins as a new member, and the one it was
// stays a member that never answers, counting against the cluster's
// quorum for good. A cluster of three whose node came back so twice (its
// route address spelled another way each time) had five members, three
// of them needed for a quorum, and the loss of one more node stopped it.
type NodeNameError struct {
	Dir  string
	Had  string // the name of the node whose data Dir holds
	Want string // the name the node was started with
}

func (e *NodeNameError) Error() string {
	return fmt.Sprintf("its data folder %s holds the data of the node named %s, not %s: a node is a member of its cluster by its name, so under another it would join as a new member, and %s would stay a member that never answers, counting against the cluster's quorum for good",
		e.Dir, e.Had, e.Want, e.Had)
}

// claimName records name as the name of the node whose data dir holds, or
// refuses it when the data is another node's. A folder whose node ran
// before names were recorded takes the name it is started with.
func claimName(dir, name string) error {
	path := filepath.Join(dir, nameFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read the name of its data's node from %s: %w", path, err)
	}
	if had := strings.TrimSpace(string(b)); had != "" {
		if had != name {
			return &NodeNameError{Dir: dir, Had: had, Want: name}
		}
		return nil
	}
	if err := atomicfile.Write(path, []byte(name+"\n"), 0o600); err != nil {
		return fmt.Errorf("record its name in %s: %w", path, err)
	}
	return nil
}

// options are the server options of cfg: JetStream on, no monitoring, no
// signal handlers (the embedding program owns its signals).
func (cfg NodeConfig) options() (*server.Options, error) {
	if cfg.Name == "" {
		return nil, errors.New("the node has no name")
	}
	if cfg.Dir == "" {
		return nil, errors.New("the node has no data folder")
	}
	opts := &server.Options{
		ServerName: cfg.Name,
		Host:       cfg.Host,
		Port:       cfg.Port,
		JetStream:  true,
		StoreDir:   cfg.Dir,
		NoSigs:     true,
	}
	if len(cfg.Routes) == 0 {
		return opts, nil
	}
	for _, r := range cfg.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats-route" && u.Scheme != "nats" || u.Port() == "" {
			return nil, fmt.Errorf("route %q: want nats-route://HOST:PORT", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	// A route that was up and is lost is tried again each second, and the
	// server reports every failed try by default: a host down for an hour
	// wrote 3,600 lines of it into the broker's terminal and log. The
	// first failure is reported at once all the same, then once a minute.
	opts.ReconnectErrorReports = 60
	opts.Cluster = server.ClusterOpts{
		Name: cfg.ClusterName,
		Host: cfg.Host,
		Port: cfg.ClusterPort,
	}
	return opts, nil
}

// waitReady waits until srv accepts connections, a fatal error is logged,
// or ctx is done.
func waitReady(ctx context.Context, srv *server.Server, fatal <-chan error) error {
	// ReadyForConnections polls for at most the duration it is given; short
	// rounds keep ctx and the fatal channel heard.
	const round = 50 * time.Millisecond
	for {
		select {
		case err := <-fatal:
			return err
		default:
		}
		if srv.ReadyForConnections(round) {
			return nil
		}
		select {
		case err := <-fatal:
			return err
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", context.Cause(ctx))
		default:
		}
	}
}

// Name is the node's server name.
func (n *Node) Name() string { return n.cfg.Name }

// Port is the client port the node bound.
func (n *Node) Port() int { return n.cfg.Port }

// ClusterPort is the route port the node bound, 0 for a node without
// routes.
func (n *Node) ClusterPort() int { return n.cfg.ClusterPort }

// ClientURL is the URL clients connect to: nats://HOST:PORT.
func (n *Node) ClientURL() string {
	return "nats://" + net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
}

// RouteURL is the URL the other nodes route to, nats-route://HOST:PORT, or
// "" for a node without routes.
func (n *Node) RouteURL() string {
	if n.cfg.ClusterPort == 0 {
		return ""
	}
	return "nats-route://" + net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.ClusterPort))
}

// Config is the node's configuration with the ports it bound, which
// StartNode takes to bring the same node back after Shutdown.
func (n *Node) Config() NodeConfig {
	cfg := n.cfg
	cfg.Routes = append([]string(nil), n.cfg.Routes...)
	return cfg
}

// Server is the embedded server, for what this package does not wrap
// (its monitoring calls, such as Jsz).
func (n *Node) Server() *server.Server { return n.srv }

// Shutdown stops the node and waits until it has, so that its ports and
// store are free when it returns. It may be called more than once.
func (n *Node) Shutdown() {
	n.srv.Shutdown()
	n.srv.WaitForShutdown()
	n.stopped.Do(n.unlock)
}

// logBridge is the server's logger: it passes the log to slog and reports
// the first fatal error, which the server only logs, to StartNode.
type logBridge struct {
	log   *slog.Logger
	fatal chan error
}

func newLogBridge(log *slog.Logger, name string) *logBridge {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	} else {
		log = log.With("node", name)
	}
	return &logBridge{log: log, fatal: make(chan error, 1)}
}

func (b *logBridge) enabled(level slog.Level) bool {
	return b.log.Enabled(context.Background(), level)
}

func (b *logBridge) logf(level slog.Level, format string, v []any) {
	if b.enabled(level) {
		b.log.Log(context.Background(), level, fmt.Sprintf(format, v...))
	}
}

func (b *logBridge) Noticef(format string, v ...any) { b.logf(slog.LevelInfo, format, v) }
func (b *logBridge) Warnf(format string, v ...any)   { b.logf(slog.LevelWarn, format, v) }
func (b *logBridge) Errorf(format string, v ...any)  { b.logf(slog.LevelError, format, v) }
func (b *logBridge) Debugf(format string, v ...any)  { b.logf(slog.LevelDebug, format, v) }
func (b *logBridge) Tracef(format string, v ...any)  { b.logf(LevelTrace, format, v) }

// Fatalf logs at error level and never exits: the server's own loggers
// exit the process on a fatal error, which would take the embedding
// program down with a node that could not bind its port.
func (b *logBridge) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	b.log.Error(msg)
	select {
	case b.fatal <- errors.New(msg):
	default:
	}
}
