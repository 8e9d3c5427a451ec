package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// ErrNoBroker is returned by StopBroker when nothing serves the mesh port.
var ErrNoBroker = errors.New("no broker is running")

// stopTimeout bounds how long StopBroker waits for the broker to exit.
const stopTimeout = 15 * time.Second

// Stopped is the broker StopBroker stopped, and how.
type Stopped struct {
	ipc.BrokerInfo
	// Killed says its process was ended rather than asked to stop, as it
	// is on Windows, which has no SIGTERM for another process: it handed
	// nothing over, and its peers found their connections lost, as after
	// a crash. What it acknowledged is on disk all the same.
	Killed bool
}

// StopBroker stops the broker of cfg's mesh without ever hosting one: it
// dials the port, lets the broker prove it knows the secret, and sends
// SIGTERM to the pid it reports, which hands over gracefully (on Windows,
// which has no SIGTERM for another process, it is killed; every acked
// message is on disk either way). It refuses unless the data folder's
// record names that pid, so it never signals a process of another mesh.
// It returns the broker's description once its process has exited.
func StopBroker(ctx context.Context, cfg Config) (Stopped, error) {
	dctx, cancel := context.WithTimeout(ctx, HelloTimeout)
	c, err := ipc.Dial(dctx, cfg.Addr, cfg.Keys, ipc.DialOptions{MaxFrame: cfg.Limits.MaxFrame})
	cancel()
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return Stopped{}, fmt.Errorf("%w on %s", ErrNoBroker, cfg.Addr)
		}
		if r := refusal(cfg, err); r != nil {
			return Stopped{}, r
		}
		return Stopped{}, fmt.Errorf("reach the broker on %s: %w", cfg.Addr, err)
	}
	info := Stopped{BrokerInfo: c.Broker()}
	c.Close()
	if rec, alive := readBrokerRecord(cfg.DataDir); (!alive || rec.PID != info.PID) && !sameFolder(info.DataDir, cfg.DataDir) {
		return info, fmt.Errorf("the broker on %s (pid %d) serves the data folder %s, not %s: run ipcmesh stop with IPC_DATA_DIR=%s", cfg.Addr, info.PID, info.DataDir, cfg.DataDir, info.DataDir)
	}
	// The pid comes from the broker: one that proved the secret may
	// still be faulty, or lie. Signalled, 0 would be this process's group,
	// a negative pid a group or every process the user may signal, and
	// this process's own is not the broker's.
	if info.PID <= 0 || info.PID == os.Getpid() {
		return info, fmt.Errorf("the broker on %s says it is pid %d, which no broker of this mesh can be, so nothing was signalled: it is faulty, or not what it claims; stop the program on that port yourself", cfg.Addr, info.PID)
	}
	if err := holdsPort(info.PID, cfg.Addr); err != nil {
		return info, fmt.Errorf("the broker on %s says it is pid %d, %v, so nothing was signalled: it is faulty, or not what it claims; stop the program on that port yourself", cfg.Addr, info.PID, err)
	}
	broker, err := os.FindProcess(info.PID)
	if err != nil {
		return info, fmt.Errorf("find the broker's process %d: %w", info.PID, err)
	}
	if err := broker.Signal(syscall.SIGTERM); err != nil {
		if err := broker.Kill(); err != nil {
			return info, fmt.Errorf("stop the broker (pid %d): %w", info.PID, err)
		}
		info.Killed = true
	}
	// The broker is not this process's child: nothing announces its exit,
	// so look now and then.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(stopTimeout)
	for proc.Alive(info.PID) {
		select {
		case <-tick.C:
		case <-deadline:
			return info, fmt.Errorf("the broker (pid %d) was asked to stop but is still running after %v: %s", info.PID, stopTimeout, forceAdvice(runtime.GOOS, info.PID))
		case <-ctx.Done():
			return info, ctx.Err()
		}
	}
	// A broker that stopped as asked has taken its record away; one that
	// was killed (always, on Windows) could not. Left behind, it names a
	// process that is gone, which every reader takes for no broker, but
	// whoever looks in the folder for what runs is misled.
	removeBrokerRecord(cfg.DataDir, info.PID)
	return info, nil
}

// holdsPort returns nil if process pid listens on addr's port, or where
// the system cannot tell (only linux can), and otherwise says why pid is
// not the broker: the one that answered on the port may name any process
// of the user's, which stop would then signal.
func holdsPort(pid int, addr string) error {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("port %q: %w", p, err)
	}
	ok, err := proc.Listens(pid, port)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		return nil
	case err != nil:
		return fmt.Errorf("which cannot be told to hold port %d (%v)", port, err)
	case !ok:
		return fmt.Errorf("but that process does not listen on port %d", port)
	}
	return nil
}

// forceAdvice says, in the words of the system goos, why the process pid
// may not have stopped when asked and how to end it.
func forceAdvice(goos string, pid int) string {
	if goos == "windows" {
		return fmt.Sprintf("it may be hung; end it (taskkill /PID %d /F, or the Task Manager)", pid)
	}
	return fmt.Sprintf("it may be stopped (Ctrl-Z) or hung; kill it (kill -9 %d)", pid)
}

// sameFolder reports whether a and b name one folder. A broker that
// proved it knows the secret and says it serves this very data folder is
// this folder's broker, whatever its record says: the record may be gone
// or damaged (a hand edit, a disk that lost it), and a stop refused then
// told the user to run it again with the folder it had run with.
func sameFolder(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
