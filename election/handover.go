package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/proc"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// A compact or a restore needs the store's lock, which the broker holds
// while it serves the folder, and the moment a broker stops, the peers
// still running (every assistant's MCP server) elect the next: a command
// that waits for the folder to be free waits for as long as an assistant
// runs. So the work is handed over. The command writes a request into the
// data folder and stops the broker; the broker that takes the port next,
// in whichever peer wins it, does the work before it opens the store,
// with its record saying so (peers wait for it as for any broker opening
// its store, and tell their callers why), and writes what it did beside
// the request.

const (
	handoverRequestFile = "handover-request.json"
	handoverReportFile  = "handover-report.json"
)

// What a request asks of the next broker.
const (
	opCompact = "compact"
	opRestore = "restore"
)

// handoverRequestTTL is how long a request is carried out after it was
// made: longer than the command that made it waits for the broker to stop
// and the next to serve, so that a request whose command died is not
// carried out days later, by surprise, by whatever broker starts next.
const handoverRequestTTL = stopTimeout + clusterOpenTimeout + 30*time.Second

// handoverLockWait is how long the broker that carries out a request
// waits for the store's lock: the broker it took over from may still be
// closing.
const handoverLockWait = 10 * time.Second

// handoverRequest is what handoverRequestFile holds.
type handoverRequest struct {
	ID        string    `json:"id"`
	Op        string    `json:"op"`
	DryRun    bool      `json:"dry_run,omitempty"` // a compact's
	Backup    string    `json:"backup,omitempty"`  // a restore's, absolute
	Requested time.Time `json:"requested"`
}

// HandoverReport is what a compact or a restore did: the broker it was
// handed over to (PID, with the broker stopped for it), or this process
// (PID 0).
type HandoverReport struct {
	ID      string              `json:"id"`
	PID     int                 `json:"pid"`               // the broker that did it
	Stopped int                 `json:"stopped,omitempty"` // the broker stopped for it
	Compact store.CompactResult `json:"compact,omitzero"`
	Restore store.RestoreResult `json:"restore,omitzero"`
	Took    time.Duration       `json:"took"`
	Error   string              `json:"error,omitempty"`
}

// errNotServed is handOver's error when no broker of this data folder
// serves its port: there is no broker to hand the work to, and the folder
// is worked on here.
var errNotServed = errors.New("no broker of this data folder serves its port")

// localLockWait is how long a compact or restore made here waits for the
// store's lock: enough for a one-shot command's broker to finish, not for
// a running one.
const localLockWait = 2 * time.Second

// Compact compacts the store of cfg's data folder (store.Compact, with
// dryRun). When a broker serves the folder, the compact is handed over to
// the broker that takes its place, and peers' calls meanwhile wait, as
// they wait through any failover; otherwise it is made here, with the
// mesh port held (holdingPort). The report's PID is the broker that
// made it, 0 when it was made here.
func Compact(ctx context.Context, cfg Config, dryRun bool) (HandoverReport, error) {
	return work(ctx, cfg, handoverRequest{Op: opCompact, DryRun: dryRun})
}

// Restore restores the backup into the store of cfg's data folder
// (store.Restore), as Compact compacts it: handed over when a broker
// serves the folder, made here otherwise. The backup is checked first: one
// that is not a whole backup stops nothing. Peers' sessions that the
// backup does not hold end, as after any restore.
func Restore(ctx context.Context, cfg Config, backup string) (HandoverReport, error) {
	abs, err := filepath.Abs(backup)
	if err != nil {
		return HandoverReport{}, fmt.Errorf("restore %s: %w", backup, err)
	}
	if err := store.CheckBackup(cfg.DataDir, abs); err != nil {
		return HandoverReport{}, err
	}
	return work(ctx, cfg, handoverRequest{Op: opRestore, Backup: abs})
}

// work does req on the store of cfg's data folder: handed over to the
// next broker when one serves the folder, else here, with the port held.
func work(ctx context.Context, cfg Config, req handoverRequest) (HandoverReport, error) {
	rep, err := handOver(ctx, cfg, req)
	if !errors.Is(err, errNotServed) {
		return rep, err
	}
	err = holdingPort(cfg, req.Op, func() (err error) {
		rep, err = doWork(cfg, req, localLockWait)
		return err
	})
	return rep, err
}

// doWork does req on the store of cfg's data folder, waiting up to
// lockWait for the store's lock.
func doWork(cfg Config, req handoverRequest, lockWait time.Duration) (HandoverReport, error) {
	start := time.Now()
	var rep HandoverReport
	var err error
	switch req.Op {
	case opCompact:
		rep.Compact, err = store.Compact(cfg.DataDir, store.CompactOptions{LockTimeout: lockWait, DryRun: req.DryRun})
	case opRestore:
		rep.Restore, err = store.Restore(cfg.DataDir, req.Backup, lockWait)
	default:
		err = fmt.Errorf("no such work on a store: %q", req.Op)
	}
	rep.Took = time.Since(start)
	return rep, err
}

// Served reports whether a broker of cfg's data folder serves its port, as
// the folder's record says: compact and restore are then handed over, and
// a dry run of compact asks the broker rather than stop it.
func Served(cfg Config) bool {
	rec, alive := readBrokerRecord(cfg.DataDir)
	return alive && samePort(rec.Addr, cfg.Addr) && !rec.Opening
}

// handOver asks the next broker of cfg's data folder to do req, stops the
// broker that serves it, joins the mesh (which waits for the next broker
// to do the work and serve, or starts one) and returns what that broker
// reported.
func handOver(ctx context.Context, cfg Config, req handoverRequest) (HandoverReport, error) {
	if rec, alive := readBrokerRecord(cfg.DataDir); !alive || !samePort(rec.Addr, cfg.Addr) {
		if err := servedElsewhere(cfg); err != nil {
			return HandoverReport{}, err
		}
		return HandoverReport{}, errNotServed
	}
	req.ID = ipc.NewID()
	req.Requested = time.Now().UTC()
	b, err := json.Marshal(req)
	if err != nil {
		return HandoverReport{}, err
	}
	if err := atomicfile.Write(filepath.Join(cfg.DataDir, handoverRequestFile), append(b, '\n'), 0o600); err != nil {
		return HandoverReport{}, fmt.Errorf("ask the next broker to %s: %w", req.Op, err)
	}
	// However this ends, the request is not to be carried out later.
	defer removeHandoverRequest(cfg.DataDir, req.ID)
	stopped, err := StopBroker(ctx, cfg)
	if err != nil && !errors.Is(err, ErrNoBroker) {
		return HandoverReport{}, fmt.Errorf("stop the broker to hand the %s over: %w", req.Op, err)
	}
	p, err := awaitWork(ctx, cfg, req.Op)
	if err != nil {
		return HandoverReport{}, fmt.Errorf("reach the broker that took over, which was to %s the store: %w", req.Op, err)
	}
	p.Close()
	rep, ok := readHandoverReport(cfg.DataDir, req.ID)
	if !ok {
		who := "the broker that took over"
		if rec, alive := readBrokerRecord(cfg.DataDir); alive {
			who = fmt.Sprintf("%s (pid %d)", who, rec.PID)
		}
		return HandoverReport{}, fmt.Errorf("%s did not %s the store: it runs an older ipcmesh, which does not know how, or another compact or restore, asked at the same moment, took this one's place; run this one again, and if it says so again, stop every ipcmesh process of the data folder %s (the assistants' MCP servers too), then %s", who, req.Op, cfg.DataDir, req.Op)
	}
	os.Remove(filepath.Join(cfg.DataDir, handoverReportFile))
	rep.Stopped = stopped.PID
	if rep.Error != "" {
		return rep, fmt.Errorf("the broker that took over (pid %d) could not %s the store: %s", rep.PID, req.Op, rep.Error)
	}
	return rep, nil
}

// awaitWork joins the mesh once the broker doing op on the store (the
// next broker, handed the work) serves. A peer waits for a broker that
// opens its store for a minute (Config.opensWithin), then tells its
// caller to try again; the command that asked for the work waits for as
// long as the work takes while the process doing it lives, since a
// compact of a store of gigabytes on a slow disk takes minutes, and
// giving up would leave the user to guess whether it was done.
func awaitWork(ctx context.Context, cfg Config, op string) (*Peer, error) {
	for {
		p, err := Join(ctx, cfg)
		var o *opening
		// Join says so only while the folder's record names a live
		// process that does op.
		if err == nil || !errors.As(err, &o) || o.handover != op || ctx.Err() != nil {
			return p, err
		}
	}
}

// pendingHandover returns the work asked of the next broker of cfg's data
// folder, if some was asked lately and the folder's store is its own
// (compact and restore do not work on a cluster's).
func pendingHandover(cfg Config) (handoverRequest, bool) {
	var req handoverRequest
	if url, _ := cfg.StoreURL(); url != "" || cfg.Cluster.URL != "" {
		return req, false
	}
	b, err := atomicfile.ReadFile(filepath.Join(cfg.DataDir, handoverRequestFile))
	if err != nil || json.Unmarshal(b, &req) != nil || req.ID == "" || req.Op != opCompact && req.Op != opRestore {
		return req, false
	}
	return req, time.Since(req.Requested) < handoverRequestTTL
}

// carryOut does what req asks, before the broker opens the store, and
// reports what it did. Work that fails leaves the store as it was
// (store.Compact, store.Restore): the broker serves it all the same.
func carryOut(cfg Config, req handoverRequest) {
	rep, err := doWork(cfg, req, handoverLockWait)
	rep.ID, rep.PID = req.ID, os.Getpid()
	if err != nil {
		rep.Error = err.Error()
		cfg.Logger.Warn("the work handed over failed; serving the store as it was", "op", req.Op, "err", err)
	} else {
		cfg.Logger.Info("did the work handed over", "op", req.Op, "took", rep.Took)
	}
	removeHandoverRequest(cfg.DataDir, req.ID)
	b, err := json.Marshal(rep)
	if err == nil {
		err = atomicfile.Write(filepath.Join(cfg.DataDir, handoverReportFile), append(b, '\n'), 0o600)
	}
	if err != nil {
		cfg.Logger.Warn("report the work handed over", "op", req.Op, "err", err)
	}
}

// removeHandoverRequest removes the request if it is still id's: another
// command may have asked since.
func removeHandoverRequest(dir, id string) {
	path := filepath.Join(dir, handoverRequestFile)
	var req handoverRequest
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &req) == nil && req.ID == id {
		os.Remove(path)
	}
}

// readHandoverReport returns the report of request id, if it was made.
func readHandoverReport(dir, id string) (HandoverReport, bool) {
	var rep HandoverReport
	b, err := atomicfile.ReadFile(filepath.Join(dir, handoverReportFile))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.ID != id {
		return rep, false
	}
	return rep, true
}

// holdingPort runs work, a compact or restore (op) of cfg's data folder
// that no broker serves, with the mesh port held and the folder's
// record saying what is done. work holds the store's lock, and a peer
// that started meanwhile would win the free port, fail for the lock for
// its 3 s and give up with an error about another broker; holding the
// port, the command is what the peer finds there, silent, and the record
// has it wait as for a broker opening its store (up to a minute). Once
// work returns the port is let go, and the peer takes it. When the port
// cannot be had (another mesh's broker holds it), work runs all the same:
// the store's lock still keeps brokers out.
func holdingPort(cfg Config, op string, work func() error) error {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return work()
	}
	rec := brokerRecord{PID: os.Getpid(), Addr: ln.Addr().String(), Started: time.Now().UTC(), Opening: true, Handover: op}
	rec.Start, _ = proc.Started(rec.PID)
	wrote := false
	if other, alive := readBrokerRecord(cfg.DataDir); !alive || other.PID == rec.PID {
		wrote = writeBrokerRecord(cfg.DataDir, rec) == nil
	}
	defer func() {
		// The port first: a hello waiting in it is reset and tried
		// again. With the record gone first, one that went unanswered
		// meanwhile would find no record, and its peer would take the
		// port's holder for a foreign program and give up.
		ln.Close()
		if wrote {
			removeBrokerRecord(cfg.DataDir, rec.PID)
		}
	}()
	return work()
}
