package election

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
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
	// Asked says the broker took the stop request and handed over, as
	// on SIGTERM. Otherwise NotAsked says why it was not, or refused,
	// and its process was signalled, or killed.
	Asked    bool
	NotAsked string
	// Killed says its process was ended rather than asked to stop: it
	// could not be asked, and Windows has no SIGTERM for another
	// process. It handed nothing over, and its peers found their
	// connections lost, as after a crash. What it acknowledged is on
	// disk all the same.
	Killed bool
}

// StopBroker stops the broker of cfg's mesh without ever hosting one: it
// dials the port, lets the broker prove it knows the secret, and asks it
// to stop and hand over (the stop op) with the stop key of the data
// folder's record, which proves this process can read that folder. A
// broker that cannot be asked (an older one, one hosted by a process that
// only serves itself, one whose record is gone) is sent SIGTERM at the
// pid it reports, which hands over too, or on Windows, which has no
// SIGTERM for another process, killed; every acked message is on disk
// either way. It refuses, asking and signalling nothing, unless the data
// folder's record names that pid or the broker says it serves this very
// folder, so it never stops the broker of another mesh. It returns the
// broker's description once its process has exited.
func StopBroker(ctx context.Context, cfg Config) (Stopped, error) {
	c, err := dialToStop(ctx, cfg)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return Stopped{}, fmt.Errorf("%w on %s", ErrNoBroker, cfg.Addr)
		}
		if r := refusal(cfg, err); r != nil {
			return Stopped{}, r
		}
		if errors.Is(err, ipc.ErrConnLost) && ctx.Err() == nil {
			return Stopped{}, fmt.Errorf("the mesh port %s is held by a program that is not an ipcmesh broker (it closed every connection without answering the hello for %v, which a broker starting or stopping does only for a moment); nothing was sent to it, and nothing stopped: stop that program or pick another port with IPC_PORT", cfg.Addr, hangUpWait)
		}
		return Stopped{}, fmt.Errorf("reach the broker on %s: %w", cfg.Addr, err)
	}
	defer c.Close()
	info := Stopped{BrokerInfo: c.Broker()}
	rec, alive := readBrokerRecord(cfg.DataDir)
	recorded := alive && rec.PID == info.PID
	if !recorded && !sameFolder(info.DataDir, cfg.DataDir) {
		return info, fmt.Errorf("the broker on %s (pid %d) serves the data folder %s, not %s: run ipcmesh stop with IPC_DATA_DIR=%s", cfg.Addr, info.PID, info.DataDir, cfg.DataDir, info.DataDir)
	}
	// The pid comes from the broker: one that proved the secret may
	// still be faulty, or lie. Signalled, 0 would be this process's group,
	// a negative pid a group or every process the user may signal, and
	// this process's own is not the broker's. Asked, it is the process
	// waited for.
	if info.PID <= 0 || info.PID == os.Getpid() {
		return info, fmt.Errorf("the broker on %s says it is pid %d, which no broker of this mesh can be, so nothing was signalled: it is faulty, or not what it claims; stop the program on that port yourself", cfg.Addr, info.PID)
	}
	if err := holdsPort(info.PID, cfg.Addr); err != nil {
		return info, fmt.Errorf("the broker on %s says it is pid %d, %v, so nothing was signalled: it is faulty, or not what it claims; stop the program on that port yourself", cfg.Addr, info.PID, err)
	}
	key := ""
	if recorded {
		key = rec.StopKey
	}
	if err := askToStop(ctx, c, key); err != nil {
		info.NotAsked = err.Error()
	} else {
		info.Asked = true
	}
	c.Close()
	if !info.Asked {
		if err := signalStop(&info); err != nil {
			return info, err
		}
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
	// was killed (on Windows, one that could not be asked) could not.
	// Left behind, it names a process that is gone, which every reader
	// takes for no broker, but whoever looks in the folder for what runs
	// is misled.
	removeBrokerRecord(cfg.DataDir, info.PID)
	return info, nil
}

// hangUpWait is how long stop dials again a program on the mesh port
// that closes the connection without answering the hello, as a peer does
// before it names the port: a broker starting or stopping does that for a
// moment, and the port is then free (nothing to stop) or served.
const hangUpWait = 10 * time.Second

// dialToStop dials the broker of cfg's mesh for StopBroker, again while
// the program on the port hangs up on the hello, for up to hangUpWait.
func dialToStop(ctx context.Context, cfg Config) (*ipc.Client, error) {
	start := time.Now()
	for {
		dctx, cancel := context.WithTimeout(ctx, HelloTimeout)
		c, err := ipc.Dial(dctx, cfg.Addr, cfg.Keys, ipc.DialOptions{MaxFrame: cfg.Limits.MaxFrame})
		cancel()
		if err == nil || !errors.Is(err, ipc.ErrConnLost) || time.Since(start) >= hangUpWait {
			return c, err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return nil, err
		}
	}
}

// askToStop sends the stop request with key on c and returns nil once the
// broker has taken it, or why it did not: it does not know the request
// (an older broker, which answers unknown_op), refuses it (unsupported
// from a broker whose process serves only itself, unauthorized for a key
// not its own) or did not answer in time.
func askToStop(ctx context.Context, c *ipc.Client, key string) error {
	if c.Broker().Revision < stopRevision {
		// It would answer unknown_op: say so without the round trip's
		// words, which are for a request a user made.
		return fmt.Errorf("it runs an older ipcmesh (revision %d), which does not know the stop request", c.Broker().Revision)
	}
	if key == "" {
		return errors.New("the data folder's record of it holds no stop key")
	}
	actx, cancel := context.WithTimeout(ctx, HelloTimeout)
	defer cancel()
	if err := c.Call(actx, ipc.OpStop, ipc.StopRequest{Key: key}, nil); err != nil {
		return fmt.Errorf("it did not take the stop request: %w", err)
	}
	return nil
}

// stopRevision is the first broker revision that knows the stop op.
const stopRevision = 5

// signalStop sends the broker of info SIGTERM, or kills it where no
// SIGTERM can be sent to another process (Windows), and says which in
// info. A broker gone meanwhile (its answer to the stop request was lost
// as it exited) needs neither.
func signalStop(info *Stopped) error {
	broker, err := os.FindProcess(info.PID)
	if err != nil {
		return fmt.Errorf("find the broker's process %d: %w", info.PID, err)
	}
	if err := broker.Signal(syscall.SIGTERM); err != nil {
		if !proc.Alive(info.PID) {
			return nil
		}
		if err := broker.Kill(); err != nil {
			return fmt.Errorf("stop the broker (pid %d): %w", info.PID, err)
		}
		info.Killed = true
	}
	return nil
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
// told the user to run it again with the folder it had run with. The same
// path is the same folder even when it is gone (removed while its broker
// ran, to start afresh): stop refused it, "serves the data folder D, not
// D", and the broker had to be found and killed by hand.
func sameFolder(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
