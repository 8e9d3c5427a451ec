package election

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
)

// spawnTimeout bounds the wait for a detached broker's report: starting a
// process and opening the store take milliseconds, but a loaded machine
// can take seconds.
const spawnTimeout = 20 * time.Second

// reportTimeout is how long a peer waits for the report of the detached
// broker it started. The broker reports once its store is open, and a
// NATS cluster's is given clusterOpenTimeout (a cluster electing its
// leaders, or without quorum for a while): the peer waits that long too,
// rather than kill a broker that was still reaching its cluster and say
// nothing of why. The folder's own store is read before it serves (the
// damage check and bbolt's walk of its pages: 4 s for 2.8 GB read cold
// on a small VM): the peer waits a second more for every
// openReadRate bytes of it, so that a store of many gigabytes on a slow
// disk is not killed at every start, and the mesh with it.
func (c Config) reportTimeout() time.Duration {
	if url, _ := c.StoreURL(); url != "" {
		return spawnTimeout + clusterOpenTimeout
	}
	d := spawnTimeout
	if fi, err := os.Stat(store.DatabasePath(c.DataDir)); err == nil {
		d += time.Duration(fi.Size()/openReadRate) * time.Second
	}
	return d
}

// openReadRate is the pace at which reportTimeout counts a store read on
// open: about a tenth of what a cold open read here, for a slower disk.
const openReadRate = 50 << 20

// brokerLog is the detached broker's log in the data folder; it is rotated
// to brokerLog+".1" before it passes maxBrokerLog while a broker runs
// (DetachedLog), and when a broker starts on one past it (a log of an
// older version, or one that a rotation failed to cap).
const (
	brokerLog    = "broker.log"
	maxBrokerLog = 4 << 20
)

// spawnReport is the one line a detached broker writes on its stdout.
type spawnReport struct {
	PID   int    `json:"pid"`
	Error string `json:"error,omitempty"`
	// Retry says the election should run again: the data folder is still
	// locked by a broker that is closing, or (Windows) another peer bound
	// the port first.
	Retry bool `json:"retry,omitempty"`
	// Taken says it was the port (Windows): another peer bound it while
	// this broker was starting, and serves it.
	Taken bool `json:"taken,omitempty"`
	// Damaged says the store's file is damaged: no broker can open it
	// until it is restored.
	Damaged bool `json:"damaged,omitempty"`
	// Working, in a line before the report, says the broker first does
	// the work handed over to it ("compact" or "restore"): the report
	// follows once it is done, which may be minutes, and the peer waits
	// for it while the broker lives, instead of killing a compact half
	// done after spawnTimeout and leaving the work undone.
	Working string `json:"working,omitempty"`
	// exited is set by readReports, not the broker: it ended without a
	// report (killed, or crashed, before it served).
	exited bool
}

// errExitedUnreported is the kind of spawn's error when the detached
// broker ended without a report: killed (kill -9, the OOM killer) or
// crashed while it opened the store. The port it held is free again, as
// after any lost broker, so the election runs again (connect).
var errExitedUnreported = errors.New("the detached broker exited before it reported")

// spawn starts a detached broker on ln and waits until it serves (or,
// while it does work handed over to it, until ctx ends: awaitReport); ln
// is closed in this process either way.
//
// A detached broker is a child process, "ipcmesh broker --detached", in a
// session and process group of its own, with no terminal and its stdio
// closed (stderr goes to the log in the data folder). It gets the listener
// this peer won (on Windows, which cannot pass one, it binds the port
// itself), so the election is decided exactly as before: first to bind
// wins. The child reports one line on its stdout; then this peer lets it go
// and joins it like any other peer.
//
// Why a process of its own: a broker hosted inside an assistant's MCP
// server stops when that terminal is suspended (Ctrl-Z), stopped in a
// debugger or swapped out, and while it is stopped it still holds the
// port, so no other peer can be elected and the whole mesh stalls.
func (p *Peer) spawn(ctx context.Context, ln net.Listener) error {
	cmd := exec.Command(p.cfg.Detach[0], p.cfg.Detach[1:]...)
	if img, ok := runningImage(cmd.Path); ok {
		// A peer that outlives its program's file (an upgrade that moved
		// the install) must still be able to take over from a lost
		// broker, or the mesh stays down until every peer restarts.
		cmd.Path = img
	}
	logf, err := openBrokerLog(p.cfg.DataDir)
	if err != nil {
		ln.Close()
		return err
	}
	defer logf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		ln.Close()
		return fmt.Errorf("start a detached broker: %w", err)
	}
	defer r.Close()
	cmd.Stdout, cmd.Stderr = w, logf
	// The broker outlives the command that starts it, by minutes: it must
	// not keep that command's working folder, which a script may be about
	// to remove (Windows refuses while a process works in it) or a disk to
	// be unmounted from. It works in the data folder, and the settings
	// that name files are made absolute for it first.
	cmd.Dir = p.cfg.DataDir
	cmd.Env = detachedEnv(os.Environ(), p.cfg.DataDir)
	release, err := passListener(cmd, ln)
	if err != nil {
		w.Close()
		return fmt.Errorf("start a detached broker: %w", err)
	}
	err = cmd.Start()
	release()
	w.Close()
	if err != nil {
		return fmt.Errorf("start a detached broker (%s): %w", p.cfg.Detach[0], err)
	}
	// Reap the child when it exits, however long this peer lives.
	go cmd.Wait()

	lines := make(chan spawnReport, 2)
	go readReports(r, lines)
	pid := cmd.Process.Pid
	logPath := filepath.Join(p.cfg.DataDir, brokerLog)
	wait := p.cfg.reportTimeout()
	rep, working, err := awaitReport(ctx, lines, wait, p.closing)
	if err != nil {
		if working {
			// Killed, it would leave the work undone, to be made again
			// by the next broker: it finishes, then serves whichever
			// peer comes, or stops once idle.
			p.log.Info("left the detached broker to finish the work handed over to it", "pid", pid, "err", err)
			return err
		}
		cmd.Process.Kill()
		if errors.Is(err, errNoReport) {
			return fmt.Errorf("the broker started in the background (pid %d) did not report within %v; see %s", pid, wait, logPath)
		}
		return err
	}
	switch {
	case rep.Error == "":
		p.mu.Lock()
		p.spawned = pid
		p.mu.Unlock()
		p.log.Info("started a detached broker", "pid", pid, "addr", p.cfg.Addr, "data", p.cfg.DataDir)
		return nil
	case rep.Taken:
		return &reportedError{msg: rep.Error, kind: errPortTaken}
	case rep.Retry:
		// rep.Error says what it is already.
		return &reportedError{msg: rep.Error, kind: store.ErrLocked}
	}
	msg := fmt.Sprintf("the broker started in the background (pid %d) cannot serve: %s (its log: %s)", pid, rep.Error, logPath)
	if rep.exited {
		return &reportedError{msg: msg, kind: errExitedUnreported}
	}
	if rep.Damaged {
		// Kept as ErrDamaged: host does not start another broker on it.
		return &reportedError{msg: msg, kind: store.ErrDamaged}
	}
	return errors.New(msg)
}

// errNoReport is awaitReport's error when the detached broker said
// nothing within the peer's reportTimeout.
var errNoReport = errors.New("no report in time")

// readReports reads the lines a detached broker reports on r into lines,
// at most as many as lines holds, so that it never blocks, then closes
// it: a line that says the broker does work first, then its report, or
// one that says it exited without saying why.
func readReports(r io.Reader, lines chan<- spawnReport) {
	defer close(lines)
	br := bufio.NewReader(io.LimitReader(r, 64<<10))
	for range cap(lines) {
		var rep spawnReport
		line, err := br.ReadBytes('\n')
		switch {
		case err != nil:
			// Its end of the pipe closed: the broker is gone.
			rep = spawnReport{Error: "it exited without saying why", exited: true}
		case json.Unmarshal(line, &rep) != nil:
			rep = spawnReport{Error: "it exited without saying why"}
		}
		lines <- rep
		if rep.Working == "" {
			return
		}
	}
}

// awaitReport returns the report of a detached broker that readReports
// reads into lines, waiting for it up to wait, or for as long as the
// broker does the work handed over to it, once it said so (working): the
// next line then comes when the work is done, or when the broker dies. It
// gives up with ErrClosed once closing is closed, and, while the broker
// works, when ctx ends: a caller with a deadline of its own (the hook's
// few seconds) goes on without the broker, which finishes the work. A
// broker that is only starting is waited for as before whatever ctx
// says, since one killed for a caller's short deadline, on a machine
// slow to start it, would be killed again by the next caller's.
func awaitReport(ctx context.Context, lines <-chan spawnReport, wait time.Duration, closing <-chan struct{}) (rep spawnReport, working bool, err error) {
	limit := time.NewTimer(wait)
	defer limit.Stop()
	var done <-chan struct{} // ctx's, once the broker works
	for {
		select {
		case rep, ok := <-lines:
			if !ok {
				return spawnReport{Error: "it said it does work first more than once, and nothing after"}, working, nil
			}
			if rep.Working == "" {
				return rep, working, nil
			}
			working, done = true, ctx.Done()
			limit.Stop()
		case <-limit.C:
			return spawnReport{}, working, errNoReport
		case <-done:
			return spawnReport{}, working, ctx.Err()
		case <-closing:
			return spawnReport{}, working, ErrClosed
		}
	}
}

// pathSettings are the settings a broker reads that name files or folders.
var pathSettings = []string{"IPC_PROFILE_DIR", "IPC_TRACE_DIR", "IPC_NATS_CREDS", "IPC_NATS_CA"}

// detachedEnv is env for a detached broker that runs in another working
// folder: IPC_DATA_DIR is dataDir (absolute), and a relative path in one
// of pathSettings is made absolute from this process's working folder, so
// that the broker reads the files this command was told of. One that
// begins with "~" and a separator is the home folder's, and is left for
// the broker to read as this command does.
func detachedEnv(env []string, dataDir string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case k == "IPC_DATA_DIR":
			continue
		case v != "" && slices.Contains(pathSettings, k) && !filepath.IsAbs(v) && !isHomeRelative(v):
			if abs, err := filepath.Abs(v); err == nil {
				kv = k + "=" + abs
			}
		}
		out = append(out, kv)
	}
	return append(out, "IPC_DATA_DIR="+dataDir)
}

// openBrokerLog opens the detached broker's log for appending, starting a
// new one when it has grown past maxBrokerLog.
func openBrokerLog(dir string) (*os.File, error) {
	path := filepath.Join(dir, brokerLog)
	if fi, err := os.Stat(path); err == nil && fi.Size() > maxBrokerLog {
		os.Rename(path, path+".1")
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if store.Unwritable(err) {
		// The first write a broker makes in the data folder: the store
		// would be refused next, but this error alone names no remedy.
		return nil, fmt.Errorf("open the broker's log: %w: a broker writes its log and its store in the data folder: make %s and its files writable for the user ipcmesh runs as (and its file system read-write), then try again", err, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("open the broker's log: %w", err)
	}
	return f, nil
}

// SpawnedBroker returns the pid of the detached broker this peer started,
// 0 if it started none.
func (p *Peer) SpawnedBroker() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spawned
}

// RunDetached is the body of a detached broker ("ipcmesh broker
// --detached"), started by a peer's spawn: it serves on the listener it was
// handed, writes its one-line report to report and closes it, and returns
// once the broker has stopped (ctx ended, or no peer for cfg.BrokerIdle).
func RunDetached(ctx context.Context, cfg Config, report io.WriteCloser) error {
	if cfg.Logger == nil {
		report.Close()
		return errors.New("a detached broker needs a logger: it has nowhere else to say why it stopped")
	}
	rep := reporter{w: report}
	ln, err := detachedListener(cfg.Addr)
	if err != nil {
		rep.started(err)
		return err
	}
	return hostDetached(ctx, cfg, ln, rep)
}

// reporter writes a detached broker's lines to the peer that started it.
type reporter struct{ w io.WriteCloser }

// working says that the broker does the work handed over to it (op)
// before it serves.
func (r reporter) working(op string) {
	r.write(spawnReport{PID: os.Getpid(), Working: op})
}

// started reports that the broker serves (err nil), or why it cannot, and
// closes the report.
func (r reporter) started(err error) {
	rep := spawnReport{PID: os.Getpid()}
	if err != nil {
		rep.Error = err.Error()
		rep.Taken = errors.Is(err, errPortTaken)
		rep.Retry = errors.Is(err, store.ErrLocked) || rep.Taken
		rep.Damaged = errors.Is(err, store.ErrDamaged)
	}
	r.write(rep)
	r.w.Close()
}

func (r reporter) write(rep spawnReport) {
	b, _ := json.Marshal(rep)
	r.w.Write(append(b, '\n'))
}

// errPortTaken is a detached broker's failure to bind the mesh port itself
// (Windows): another peer won the election meanwhile.
var errPortTaken = errors.New("another peer bound the mesh port first")
