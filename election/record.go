package election

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/proc"
	"github.com/ipcmesh/ipcmesh/store"
)

// brokerFile is the file in the data folder that says which process hosts
// the broker of that folder. Peers read it for one thing only: to name a
// broker that accepts connections but does not answer (stopped with Ctrl-Z,
// or hung), so that the user can resume or kill it. Nothing else trusts it:
// whoever answers the hello with the secret's proof is the broker.
const brokerFile = "broker.json"

// brokerRecord is what brokerFile holds.
type brokerRecord struct {
	PID int `json:"pid"`
	// Start is the process's mark (proc.Started): once the broker is
	// gone, another process may get its pid, and must not be named as
	// the broker.
	Start    string    `json:"start,omitempty"`
	Addr     string    `json:"addr"`
	Started  time.Time `json:"started"`
	Detached bool      `json:"detached,omitempty"`
	// Opening is set while the broker, which holds the port already,
	// opens its store: a cluster store may take seconds to reach, and the
	// connections waiting meanwhile are answered once it has.
	Opening bool `json:"opening,omitempty"`
	// Handover is set, with Opening, while the broker does the work a
	// command handed over to it ("compact" or "restore") before it opens
	// the store (handover.go).
	Handover string `json:"handover,omitempty"`
	// StopKey is what a stop request must carry (ipc.StopRequest), and a
	// request to make or revoke an access key: only who can read this
	// file, the user who could kill the broker anyway, can ask it to stop
	// or hand out keys. A broker that cannot be asked to stop
	// (Config.StopAsked unset) makes one too, for the keys, and refuses
	// stop all the same. Empty from a broker older than the request.
	StopKey string `json:"stop_key,omitempty"`
}

func writeBrokerRecord(dir string, r brokerRecord) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, brokerFile), append(b, '\n'), 0o600)
}

// readBrokerRecord returns the record of the broker that serves dir, if
// the file names a process that is still running: the one that wrote it,
// not another that got its pid since.
func readBrokerRecord(dir string) (brokerRecord, bool) {
	var r brokerRecord
	b, err := atomicfile.ReadFile(filepath.Join(dir, brokerFile))
	if err != nil || json.Unmarshal(b, &r) != nil || r.PID <= 0 {
		return r, false
	}
	return r, proc.Running(r.PID, r.Start)
}

// removeBrokerRecord removes the record if it is still pid's: the next
// broker may have written its own already.
func removeBrokerRecord(dir string, pid int) {
	path := filepath.Join(dir, brokerFile)
	var r brokerRecord
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &r) == nil && r.PID == pid {
		os.Remove(path)
	}
}

// samePort reports whether two host:port addresses name the same port; the
// hosts may be spelled differently (localhost, 127.0.0.1).
func samePort(a, b string) bool {
	_, pa, errA := net.SplitHostPort(a)
	_, pb, errB := net.SplitHostPort(b)
	return errA == nil && errB == nil && pa == pb
}

// Work is what the process that holds a data folder's mesh port does
// before a broker serves there: opening the store (Op ""), or a compact
// or a restore handed over to it first.
type Work struct {
	PID   int
	Addr  string
	Op    string // "compact", "restore" or ""
	Since time.Time
}

// Doing says what w does, as "compacting the store (ipcmesh compact)":
// the words of a peer that waits for it and of status alike.
func (w Work) Doing() string {
	switch w.Op {
	case opCompact:
		return "compacting the store (ipcmesh compact)"
	case opRestore:
		return "restoring a backup into the store (ipcmesh restore)"
	}
	return "opening the store (a store of gigabytes is read before it is served; one in a NATS cluster is reached first)"
}

// workShown is how long a broker must have been opening its store before
// Working reports it: its own open takes milliseconds, in which a status
// is better served by waiting for it.
const workShown = time.Second

// Working reports what keeps a broker of cfg's data folder from serving,
// as the folder's record says: a live process that holds the port does a
// compact or restore, or has been opening the store for a while. A
// status asked meanwhile can say so at once, rather than wait for it as
// a peer does (up to a minute).
func Working(cfg Config) (Work, bool) {
	rec, alive := readBrokerRecord(cfg.DataDir)
	if !alive || !rec.Opening || !samePort(rec.Addr, cfg.Addr) || rec.Handover == "" && time.Since(rec.Started) < workShown {
		return Work{}, false
	}
	return Work{PID: rec.PID, Addr: rec.Addr, Op: rec.Handover, Since: rec.Started}, true
}

// servedElsewhere words a data folder whose store is locked by a live
// broker of the folder on another port than this peer's: the peers of one
// folder disagree on IPC_PORT (most often a terminal that missed the
// setting its assistants have). Waiting for the lock is no use, and the
// fix is the port, not the folder. It returns nil if the folder's record
// names no such broker; the error it returns wraps store.ErrLocked.
func servedElsewhere(cfg Config) error {
	rec, alive := readBrokerRecord(cfg.DataDir)
	if !alive || rec.Opening || samePort(rec.Addr, cfg.Addr) {
		return nil
	}
	_, port, _ := net.SplitHostPort(rec.Addr)
	return &reportedError{kind: store.ErrLocked, msg: fmt.Sprintf(
		"another ipcmesh broker is using the data folder %s: pid %d, serving %s rather than %s, and one data folder has one broker; "+
			"give every peer of this folder the same port (IPC_PORT=%s), or stop that broker first (%s)",
		cfg.DataDir, rec.PID, rec.Addr, cfg.Addr, port, stopWith(runtime.GOOS, "IPC_PORT", port))}
}

// servedOnOtherHost words a data folder whose store stays locked by a live
// broker of the folder on this peer's port but another address than
// bound, the one this peer could bind there: the peers of one folder
// disagree on IPC_HOST (the machine's own network address for one, the
// loopback for the other), and each reaches a port the other does not
// listen on. It is asked once the lock has been waited for, as a broker
// that let go of the port may still be closing its store. It returns nil
// if the folder's record names no such broker; the error it returns wraps
// store.ErrLocked.
func servedOnOtherHost(cfg Config, bound string) error {
	rec, alive := readBrokerRecord(cfg.DataDir)
	// The record holds the address of the broker's listener, as bound
	// holds this peer's: both are IP and port, however IPC_HOST spelled
	// them.
	if !alive || rec.Opening || !samePort(rec.Addr, cfg.Addr) || rec.Addr == bound {
		return nil
	}
	host, _, _ := net.SplitHostPort(rec.Addr)
	return &reportedError{kind: store.ErrLocked, msg: fmt.Sprintf(
		"another ipcmesh broker is using the data folder %s: pid %d, serving %s rather than %s, and one data folder has one broker; "+
			"give every peer of this folder the same host (IPC_HOST=%s), or stop that broker first (%s)",
		cfg.DataDir, rec.PID, rec.Addr, bound, host, stopWith(runtime.GOOS, "IPC_HOST", host))}
}

// stopWith says, in the words of the shells of goos, how to run ipcmesh
// stop with the setting key=val: a POSIX shell sets it for the one
// command, and cmd and PowerShell, which cannot, set it first.
func stopWith(goos, key, val string) string {
	if goos == "windows" {
		return fmt.Sprintf("set %s=%s in cmd, or $env:%s='%s' in PowerShell, then ipcmesh stop", key, val, key, val)
	}
	return fmt.Sprintf("%s=%s ipcmesh stop", key, val)
}
