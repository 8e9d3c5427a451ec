package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
)

// maxClusterNodes bounds --nodes: a raft group of more than 7 only slows
// every write, and on one machine more nodes add no safety at all.
const maxClusterNodes = 7

// runCluster runs a NATS JetStream cluster on this machine, on loopback,
// until interrupted: a place to try cluster mode, or to develop against
// it, without a host per node. It prints the IPC_STORE line once the
// cluster can take streams, alone on its line so that a script can read
// it; its data stays in the folder across runs, and so do its ports when
// they are free (cluster.StartLocal), so the line stays good.
func runCluster(ctx context.Context, e Env, args []string) error {
	fs := flags("cluster")
	nodes := fs.Int("nodes", 3, "run `N` nodes, from 1 to 7")
	dir := fs.String("dir", "", "keep the nodes' data in `DIR` (default: cluster in the data folder)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("cluster takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *nodes < 1 || *nodes > maxClusterNodes {
		return usagef("--nodes %d: want from 1 to %d", *nodes, maxClusterNodes)
	}
	if *dir == "" {
		cfg, err := election.FromEnv(e.Getenv)
		if err != nil {
			return err
		}
		*dir = filepath.Join(cfg.DataDir, "cluster")
	}
	if abs, err := filepath.Abs(*dir); err == nil {
		*dir = abs
	}
	log, quiet := clusterLogger(e)
	l, err := cluster.StartLocal(ctx, *dir, *nodes, log)
	if errors.Is(err, cluster.ErrInUse) {
		return fmt.Errorf("%w; to run a second cluster beside it, give it a folder with --dir", err)
	}
	if other := (*cluster.NodeCountError)(nil); errors.As(err, &other) {
		return fmt.Errorf("%w: start it with --nodes %d, or a new cluster in another folder with --dir", err, other.Had)
	}
	if err != nil {
		return err
	}
	defer l.Close()
	quiet.Store(false)
	fmt.Fprintf(e.Stdout, "ipcmesh cluster: %s on %s (data in %s); Ctrl-C stops them\n", human.Count(*nodes, "NATS JetStream node"), cluster.DefaultHost, *dir)
	vars := "IPC_STORE=" + l.URL()
	fmt.Fprintln(e.Stdout, vars)
	if *nodes < 3 {
		// A broker asks for 3 replicas of each write by default, which
		// fewer nodes cannot keep: its stream would never be made.
		fmt.Fprintln(e.Stdout, "IPC_NATS_REPLICAS=1")
		vars += " IPC_NATS_REPLICAS=1"
	}
	// Brokers of one mesh must share the secret: each data folder's own
	// secret file would give each broker another, and every session made
	// on one host would count as over on the others.
	fmt.Fprintf(e.Stdout, "start each broker with that set and the same IPC_SHARED_SECRET (on this machine, each with an IPC_DATA_DIR and IPC_PORT of its own), e.g.: %s IPC_SHARED_SECRET=team-secret IPC_DATA_DIR=$HOME/host-a IPC_PORT=9881 ipcmesh broker\n", vars)
	<-ctx.Done()
	quiet.Store(true)
	l.Close()
	fmt.Fprintf(e.Stdout, "stopped the nodes; their data stays in %s\n", *dir)
	return nil
}

// clusterLogger is the nodes' logger. Nodes that start or stop together
// log, at error level, every peer they cannot reach yet or any more, which
// is what a healthy start and stop look like; unless IPC_LOG asks for the
// log, it is dropped while quiet is set, and a start that fails says why
// in its error.
func clusterLogger(e Env) (*slog.Logger, *atomic.Bool) {
	quiet := new(atomic.Bool)
	log := logger(e)
	if e.Getenv("IPC_LOG") != "" {
		return log, quiet
	}
	quiet.Store(true)
	return slog.New(quietHandler{log.Handler(), quiet}), quiet
}

// quietHandler drops records while quiet is set. Enabled ignores it, so
// that a server asking at start whether to log debug lines gets the
// level's answer.
type quietHandler struct {
	slog.Handler
	quiet *atomic.Bool
}

func (h quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.quiet.Load() {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{h.Handler.WithAttrs(attrs), h.quiet}
}

func (h quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{h.Handler.WithGroup(name), h.quiet}
}
