package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// The stores Options.Stores names.
const (
	StoreBbolt = "bbolt"
	StoreNATS  = "nats"
)

// natsGroups are the figure groups measured on a NATS store: the ones the
// store decides. Memory, one-shot sends and the connection flood are the
// broker's alone.
var natsGroups = []string{"a", "b", "c", "d", "e", "i"}

// natsNodes is the size of the cluster the bench starts: the smallest
// that keeps a quorum through the loss of a node, as R3 streams need.
const natsNodes = 3

// runStores measures the groups on each store of Options.Stores in turn,
// then the context figures once. The figures of a NATS store are named
// apart ("nats." before their id, "[nats]" before their name) so that one
// report holds both stores side by side.
func (r *runner) runStores(ctx context.Context) ([]Figure, error) {
	for _, st := range r.opts.Stores {
		if st != StoreBbolt && st != StoreNATS {
			return nil, fmt.Errorf("bench: no store %q: want %s or %s", st, StoreBbolt, StoreNATS)
		}
	}
	var figs []Figure
	var floor []group
	for _, st := range r.opts.Stores {
		if err := r.useStore(ctx, st); err != nil {
			return nil, err
		}
		groups := r.groups()
		if r.opts.Face == FaceHTTP || r.opts.Face == FaceBroker {
			groups = append(groups, r.httpGroups()...)
		}
		if st == StoreNATS {
			groups = append(groups, r.crossHost())
		}
		for _, g := range groups {
			if g.key == "x" {
				floor = append(floor[:0], g)
				continue
			}
			if len(r.opts.Only) > 0 && !slices.Contains(r.opts.Only, g.key) ||
				st == StoreNATS && !slices.Contains(natsGroups, g.key) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			out := r.runGroup(ctx, g)
			if st == StoreNATS {
				for i := range out {
					natsFigure(&out[i])
				}
			}
			figs = append(figs, out...)
		}
	}
	r.useStore(ctx, StoreBbolt)
	for _, g := range floor {
		figs = append(figs, r.runGroup(ctx, g)...)
	}
	return figs, nil
}

// natsTargets are the targets of issue 11 for the NATS store. A figure of
// a NATS run not listed keeps no target, except that nothing may be lost
// or duplicated: the bbolt targets are a single host's.
var natsTargets = map[string]*Target{
	"a":     {Op: ">=", Value: 1000},
	"c.p50": {Op: "<=", Value: 2},
	"i.p50": {Op: "<=", Value: 3},
}

// natsFigure names f as a figure of the NATS store and gives it the NATS
// target.
func natsFigure(f *Figure) {
	t, ok := natsTargets[f.ID]
	switch {
	case strings.HasSuffix(f.ID, ".lost"), strings.HasSuffix(f.ID, ".dup"):
		// Nothing lost, nothing twice: judged as on bbolt.
	case ok:
		f.Target, f.JudgedOn, f.Met = t, "median", nil
		if f.Error == "" && len(f.Samples) > 0 {
			met := t.met(f.Median)
			f.Met = &met
		}
	default:
		f.Target, f.JudgedOn, f.Met = nil, "", nil
	}
	f.ID = "nats." + f.ID
	f.Name = "[nats] " + f.Name
}

// useStore makes the meshes made from now on keep their state in st,
// starting the NATS cluster on first use.
func (r *runner) useStore(ctx context.Context, st string) error {
	if st != StoreNATS {
		r.natsURL = ""
		return nil
	}
	if r.cluster == nil {
		r.logf("starting a NATS JetStream cluster of %d nodes on 127.0.0.1", natsNodes)
		start := time.Now()
		l, err := cluster.StartLocal(ctx, filepath.Join(r.root, "cluster"), natsNodes, nil)
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
		r.cluster = l
		r.note("[nats] figures: every mesh keeps its state in a JetStream cluster of %d embedded nodes in the bench process (loopback, free ports, R3 streams), formed in %.1f s; each mesh has a stream of its own (IPC_NATS_PREFIX), and its brokers keep their view in their data folder; a send is acked once the cluster acked its event at R3 and the broker's view applied it, not after an fsync of the broker's own",
			natsNodes, time.Since(start).Seconds())
	}
	r.natsURL = r.cluster.URL()
	return nil
}

// closeCluster stops the NATS cluster, if the run started one.
func (r *runner) closeCluster() {
	if r.cluster != nil {
		r.cluster.Close()
		r.cluster = nil
	}
}

// storeVars puts the mesh on the run's NATS cluster, if it uses one: each
// mesh under a prefix of its own, unless it shares another's.
func (m *mesh) storeVars() {
	if m.r.natsURL == "" {
		return
	}
	if m.prefix == "" {
		m.r.prefixes++
		m.prefix = "BENCH" + strconv.Itoa(m.r.prefixes)
	}
	m.vars["IPC_STORE"] = m.r.natsURL
	m.vars["IPC_NATS_PREFIX"] = m.prefix
}

// dropStore takes the mesh's stream and buckets out of the run's NATS
// cluster, if it has any, so that the raft groups of meshes done with do
// not weigh on the figures measured after them.
func (m *mesh) dropStore() {
	if m.prefix == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := natsstore.Drop(ctx, natsstore.Options{URL: m.vars["IPC_STORE"], Prefix: m.prefix}); err != nil {
		m.r.logf("%v", err)
	}
}

// seeder is what populate needs of a store: both stores have it.
type seeder interface {
	PutSession(ctx context.Context, sess store.Session) error
	Append(ctx context.Context, drafts []store.Draft) ([]store.Delivery, error)
	Ack(ctx context.Context, name string, ids []string) (int, error)
	WaitIndexed(ctx context.Context) error
	Close() error
}

// openStore opens the store of mesh m in this process, as its broker
// would, to fill it before the broker starts.
func (m *mesh) openStore(ctx context.Context) (seeder, error) {
	if m.r.natsURL == "" {
		return store.Open(store.Options{Dir: m.dir})
	}
	return natsstore.Open(ctx, natsstore.Options{URL: m.r.natsURL, Prefix: m.prefix, Store: store.Options{Dir: m.dir}}, nil)
}

// crossHost is the group of figure (i): delivery from one host's broker
// to another's through the cluster.
func (r *runner) crossHost() group {
	return group{key: "i", title: "cross-host delivery: send on host A, push arrives on host B", timeout: 5 * time.Minute, run: r.figI, rows: []row{
		{id: "i.p50", name: "(i) cross-host delivery, send to push, p50", unit: "ms"},
		{id: "i.p99", name: "(i) cross-host delivery, send to push, p99", unit: "ms"},
	}}
}

// figI: two "hosts", each a mesh of its own (port, data folder, broker
// child) on the same NATS stream. A peer of host A sends to a subscribed
// peer of host B, one message at a time; the figure is from the send to
// the push arriving at B: A's broker commits to the cluster, B's broker
// reads the event from the log and pushes it.
func (r *runner) figI(ctx context.Context, res *results) error {
	a, err := r.newMesh("i-a")
	if err != nil {
		return err
	}
	defer a.close()
	b, err := r.newMesh("i-b")
	if err != nil {
		return err
	}
	defer b.close()
	b.prefix = a.prefix
	b.storeVars()
	if err := shareSecret(a.dir, b.dir); err != nil {
		return err
	}
	for _, m := range []*mesh{a, b} {
		if err := m.startBroker(ctx); err != nil {
			return err
		}
	}
	far := newPushed("near")
	if _, err := b.join(ctx, "far", far.onEvent); err != nil {
		return err
	}
	near, err := a.join(ctx, "near", nil)
	if err != nil {
		return err
	}
	deliver := func(key string) (time.Duration, error) {
		start := time.Now()
		if _, err := near.Send(ctx, "far", content(key)); err != nil {
			return 0, err
		}
		return far.since(ctx, key, start, func() error {
			return fmt.Errorf("message %s sent on host A was not pushed on host B within 10 s", key)
		})
	}
	if err := r.latencies(ctx, res, "i", "deliveries", deliver); err != nil {
		return err
	}
	res.note("i.p50", "%d messages per repetition, one at a time, from a peer of host A to a subscribed peer of host B (both peers in the bench process; each host a broker child with its own port and data folder, both on the same stream); timed from the send to the push arriving at B", r.sz.pings)
	return nil
}

// shareSecret copies the secret file of the data folder from into the
// folder to: the hosts of one mesh need one secret, and the cluster
// refuses a broker with another.
func shareSecret(from, to string) error {
	if _, _, err := auth.LoadSecret(from, ""); err != nil { // made on first use
		return err
	}
	data, err := os.ReadFile(auth.SecretFile(from))
	if err != nil {
		return fmt.Errorf("share the mesh's secret: %w", err)
	}
	if err := os.WriteFile(auth.SecretFile(to), data, 0o600); err != nil {
		return fmt.Errorf("share the mesh's secret: %w", err)
	}
	return nil
}
