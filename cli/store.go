package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/cluster"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/natsstore"
)

// storeFlags are the flags that choose where a broker keeps the mesh:
// --store, as IPC_STORE does, and the --nats-* flags of a broker that also
// runs a node of the NATS cluster on its host.
type storeFlags struct {
	store       string
	node        string // client address of the node run here
	clusterAddr string // its route address
	routes      string // the other nodes' routes
	name        string
	newSecret   bool
}

func (f *storeFlags) register(fs *flag.FlagSet, withNode bool) {
	fs.StringVar(&f.store, "store", "", "keep the mesh in `STORE`: bbolt (a file in the data folder, the default) or nats://host:4222[,...] (a NATS JetStream cluster); overrides IPC_STORE")
	if !withNode {
		return
	}
	fs.StringVar(&f.node, "nats-node", "", "also run a NATS JetStream node of the cluster here, serving clients on `HOST:PORT` (its data in DATA/nats-node)")
	fs.StringVar(&f.clusterAddr, "nats-cluster", "", "the node's route address, `HOST:PORT`, that the other nodes connect to")
	fs.StringVar(&f.routes, "nats-routes", "", "the other nodes' route addresses, `HOST:PORT,...`")
	fs.StringVar(&f.name, "nats-name", "", "the node's `NAME` in the cluster (default: the host name part of --nats-cluster and its port)")
	fs.BoolVar(&f.newSecret, "new-secret", false, "make this broker's shared secret the one of the mesh in the NATS cluster, in place of the one recorded there: brokers with the one before are refused from then on (stop those of every other host first)")
}

// apply puts the chosen store into cfg, and makes a broker that cfg starts
// detached use it too (the child reads only its flags and the environment).
func (f *storeFlags) apply(cfg *election.Config) error {
	cfg.Cluster.NewSecret = f.newSecret
	if f.store == "" {
		return nil
	}
	if err := election.SetStore(cfg, f.store); err != nil {
		return usagef("--store: %v", strings.TrimPrefix(err.Error(), "IPC_STORE: "))
	}
	if len(cfg.Detach) > 0 {
		cfg.Detach = append(cfg.Detach, "--store", f.store)
	}
	return nil
}

// startNode runs the NATS node of --nats-node, if asked for, and points
// cfg at it when no store was chosen: a host that runs a node of the
// cluster uses it. The caller shuts the node down.
func (f *storeFlags) startNode(ctx context.Context, cfg *election.Config) (*cluster.Node, error) {
	if f.node == "" {
		if f.clusterAddr != "" || f.routes != "" || f.name != "" {
			return nil, usagef("--nats-cluster, --nats-routes and --nats-name go with --nats-node HOST:PORT")
		}
		return nil, nil
	}
	host, port, err := hostPort("--nats-node", f.node)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() && f.clusterAddr != "" && f.name == "" {
		// The default name is made of the address: every host's node
		// would be named alike, and nodes of one name never form a
		// cluster (each refuses the others' routes as duplicates).
		return nil, usagef("--nats-node %s: give this host's own address, the one the other nodes route to (as 10.0.0.1:%d), not the address of every interface: the node of every host would take its name from it, the same on each, and nodes of one name never form a cluster",
			f.node, port)
	}
	nc := cluster.NodeConfig{Name: f.name, Dir: filepath.Join(cfg.DataDir, "nats-node"), Host: host, Port: port}
	if f.clusterAddr != "" {
		chost, cport, err := hostPort("--nats-cluster", f.clusterAddr)
		if err != nil {
			return nil, err
		}
		if chost != host {
			return nil, usagef("--nats-node and --nats-cluster must be on the same host, got %s and %s", host, chost)
		}
		nc.ClusterPort = cport
		if nc.Name == "" {
			nc.Name = strings.ReplaceAll(host, ".", "-") + "-" + strconv.Itoa(cport)
		}
	}
	for _, r := range strings.Split(f.routes, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if _, _, err := hostPort("--nats-routes", strings.TrimPrefix(r, "nats-route://")); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(r, "nats-route://") {
			r = "nats-route://" + r
		}
		nc.Routes = append(nc.Routes, r)
	}
	if len(nc.Routes) > 0 && nc.ClusterPort == 0 {
		return nil, usagef("--nats-routes needs --nats-cluster HOST:PORT, the address the other nodes reach this one on")
	}
	if err := routable(ctx, f.clusterAddr, host, nc.Routes); err != nil {
		return nil, err
	}
	if nc.Name == "" {
		nc.Name = "ipcmesh-" + strconv.Itoa(port)
	}
	nc.Logger = cfg.Logger
	node, err := cluster.StartNode(ctx, nc)
	if other := (*cluster.NodeNameError)(nil); errors.As(err, &other) {
		return nil, fmt.Errorf("%w; start it as %s (--nats-name %s), or run a new node with a data folder of its own", err, other.Had, other.Had)
	}
	if err != nil {
		return nil, err
	}
	if cfg.Cluster.URL == "" {
		cfg.Cluster.URL = node.ClientURL()
	}
	return node, nil
}

// routable refuses a node that binds a loopback address (127.0.0.1, or a
// name that resolves to one, as a machine's own name often does in
// /etc/hosts) while it routes to nodes of other hosts, which could never
// reach it: the cluster would not form, and the brokers would wait for it
// a minute before saying only that it did not answer. Names that do not
// resolve here are left for the node to report.
func routable(ctx context.Context, clusterAddr, host string, routes []string) error {
	if len(routes) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	own, ok := loopbackOnly(ctx, host)
	if !ok {
		return nil
	}
	for _, r := range routes {
		rhost, _, err := net.SplitHostPort(strings.TrimPrefix(r, "nats-route://"))
		if err != nil {
			continue
		}
		if other, ok := loopbackOnly(ctx, rhost); ok || other == "" {
			continue
		}
		bound := host + ","
		if own != host {
			bound = fmt.Sprintf("%s, which resolves to %s,", host, own)
		}
		return usagef("--nats-cluster %s binds %s a loopback address, which the node at %s on another host cannot reach: give this host's own address, the one the other nodes route to",
			clusterAddr, bound, strings.TrimPrefix(r, "nats-route://"))
	}
	return nil
}

// loopbackOnly resolves host and reports whether every address it has is
// a loopback one; addr is one of its addresses ("" if it has none here).
func loopbackOnly(ctx context.Context, host string) (addr string, ok bool) {
	if ip := net.ParseIP(host); ip != nil {
		return ip.String(), ip.IsLoopback()
	}
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil || len(ips) == 0 {
		return "", false
	}
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			return ip.IP.String(), false
		}
	}
	return ips[0].IP.String(), true
}

func hostPort(flagName, s string) (string, int, error) {
	host, p, err := net.SplitHostPort(s)
	n, perr := strconv.Atoi(p)
	if err != nil || perr != nil || n < 1 || n > 65535 || host == "" {
		return "", 0, usagef("%s %q: want HOST:PORT, such as 127.0.0.1:4222", flagName, s)
	}
	return host, n, nil
}

// clusterNote says which store a broker serves from, for its banner.
func clusterNote(cfg election.Config) string {
	if cfg.Cluster.URL == "" {
		return ""
	}
	return fmt.Sprintf("; store: NATS JetStream cluster %s", natsstore.Redacted(cfg.Cluster.URL))
}
