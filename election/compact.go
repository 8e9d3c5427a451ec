package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// A compact needs the store's lock, which the broker holds while it
// serves the folder, and the moment a broker stops, the peers still
// running (every assistant's MCP server) elect the next: a compact that
// waits for the folder to be free waits for as long as an assistant runs.
// So the compact of a folder that is served is handed over. CompactServed
// writes a request into the data folder and stops the broker; the broker
// that takes the port next, in whichever peer wins it, compacts the store
// before it opens it, with its record saying so (peers wait for it as for
// any broker opening its store, and tell their callers why), and writes
// what it did beside the request.

const (
	compactRequestFile = "compact-request.json"
	compactReportFile  = "compact-report.json"
)

// compactRequestTTL is how long a request is carried out after it was
// made: longer than the command that made it waits for the broker to stop
// and the next to serve, so that a request whose command died is not
// carried out days later, by surprise, by whatever broker starts next.
const compactRequestTTL = stopTimeout + clusterOpenTimeout + 30*time.Second

// compactLockWait is how long the broker that carries out a compact waits
// for the store's lock: the broker it took over from may still be closing.
const compactLockWait = 10 * time.Second

// compactRequest is what compactRequestFile holds.
type compactRequest struct {
	ID        string    `json:"id"`
	DryRun    bool      `json:"dry_run,omitempty"`
	Requested time.Time `json:"requested"`
}

// CompactReport is what the broker that carried out a handed-over compact
// did, as compactReportFile holds it.
type CompactReport struct {
	ID     string              `json:"id"`
	PID    int                 `json:"pid"` // the broker that compacted
	Result store.CompactResult `json:"result"`
	Took   time.Duration       `json:"took"`
	Error  string              `json:"error,omitempty"`
}

// ErrNotServed is CompactServed's error when no broker of this data folder
// serves its port: the store is not held by a broker this command can hand
// the compact to.
var ErrNotServed = errors.New("no broker of this data folder serves its port")

// CompactServed compacts the store of cfg's data folder, which a broker
// serves, by handing the compact over to the broker that takes its place:
// it asks for it in the folder, stops the broker, joins the mesh (which
// waits for the next broker to compact and serve, or starts one) and
// returns what that broker reported. Peers' calls meanwhile wait, as they
// wait through any failover.
func CompactServed(ctx context.Context, cfg Config, dryRun bool) (CompactReport, error) {
	if rec, alive := readBrokerRecord(cfg.DataDir); !alive || !samePort(rec.Addr, cfg.Addr) {
		if err := servedElsewhere(cfg); err != nil {
			return CompactReport{}, err
		}
		return CompactReport{}, ErrNotServed
	}
	req := compactRequest{ID: ipc.NewID(), DryRun: dryRun, Requested: time.Now().UTC()}
	b, err := json.Marshal(req)
	if err != nil {
		return CompactReport{}, err
	}
	if err := atomicfile.Write(filepath.Join(cfg.DataDir, compactRequestFile), append(b, '\n'), 0o600); err != nil {
		return CompactReport{}, fmt.Errorf("ask the next broker to compact: %w", err)
	}
	// However this ends, the request is not to be carried out later.
	defer removeCompactRequest(cfg.DataDir, req.ID)
	if _, err := StopBroker(ctx, cfg); err != nil && !errors.Is(err, ErrNoBroker) {
		return CompactReport{}, fmt.Errorf("stop the broker to hand the compact over: %w", err)
	}
	p, err := Join(ctx, cfg)
	if err != nil {
		return CompactReport{}, fmt.Errorf("reach the broker that took over, which was to compact the store: %w", err)
	}
	p.Close()
	rep, ok := readCompactReport(cfg.DataDir, req.ID)
	if ok {
		os.Remove(filepath.Join(cfg.DataDir, compactReportFile))
	}
	if !ok {
		who := "the broker that took over"
		if rec, alive := readBrokerRecord(cfg.DataDir); alive {
			who = fmt.Sprintf("%s (pid %d)", who, rec.PID)
		}
		return CompactReport{}, fmt.Errorf("%s did not compact the store: it runs an older ipcmesh, which does not know how; stop every ipcmesh process of the data folder %s (the assistants' MCP servers too), then compact", who, cfg.DataDir)
	}
	if rep.Error != "" {
		return rep, fmt.Errorf("the broker that took over (pid %d) could not compact the store: %s", rep.PID, rep.Error)
	}
	return rep, nil
}

// pendingCompact returns the compact asked of the next broker of cfg's
// data folder, if one was asked lately and the folder's store is its own
// (compact does not work on a cluster's).
func pendingCompact(cfg Config) (compactRequest, bool) {
	var req compactRequest
	if url, _ := cfg.StoreURL(); url != "" || cfg.Cluster.URL != "" {
		return req, false
	}
	b, err := atomicfile.ReadFile(filepath.Join(cfg.DataDir, compactRequestFile))
	if err != nil || json.Unmarshal(b, &req) != nil || req.ID == "" {
		return req, false
	}
	return req, time.Since(req.Requested) < compactRequestTTL
}

// carryOutCompact compacts the store as req asks, before the broker opens
// it, and reports what it did. A compact that fails leaves the store as it
// was (store.Compact): the broker serves it all the same.
func carryOutCompact(cfg Config, req compactRequest) {
	start := time.Now()
	res, err := store.Compact(cfg.DataDir, store.CompactOptions{LockTimeout: compactLockWait, DryRun: req.DryRun})
	rep := CompactReport{ID: req.ID, PID: os.Getpid(), Result: res, Took: time.Since(start)}
	if err != nil {
		rep.Error = err.Error()
		cfg.Logger.Warn("compact the store, as asked", "err", err)
	} else {
		cfg.Logger.Info("compacted the store, as asked", "before", res.Before, "after", res.After, "dry_run", req.DryRun, "took", rep.Took)
	}
	removeCompactRequest(cfg.DataDir, req.ID)
	b, err := json.Marshal(rep)
	if err == nil {
		err = atomicfile.Write(filepath.Join(cfg.DataDir, compactReportFile), append(b, '\n'), 0o600)
	}
	if err != nil {
		cfg.Logger.Warn("report the compact", "err", err)
	}
}

// removeCompactRequest removes the request if it is still id's: another
// compact may have asked since.
func removeCompactRequest(dir, id string) {
	path := filepath.Join(dir, compactRequestFile)
	var req compactRequest
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &req) == nil && req.ID == id {
		os.Remove(path)
	}
}

// readCompactReport returns the report of compact id, if it was made.
func readCompactReport(dir, id string) (CompactReport, bool) {
	var rep CompactReport
	b, err := atomicfile.ReadFile(filepath.Join(dir, compactReportFile))
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.ID != id {
		return rep, false
	}
	return rep, true
}
