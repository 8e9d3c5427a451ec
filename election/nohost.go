package election

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// ErrUnreachable is what the errors of a peer's calls match (errors.Is)
// while the peer has lost its broker and can neither reach nor host the
// next one: a program took the mesh port, the store cannot be opened. The
// error says why, in words for the user of the peer's machine; the peer
// tries again every second.
var ErrUnreachable = errors.New("the mesh has no broker this peer can reach or host")

// unreachable is ErrUnreachable with why; private keeps why out of its
// words (Config.CallersElsewhere).
type unreachable struct {
	err     error
	private bool
}

func (e *unreachable) Error() string {
	if e.private {
		return "no broker serves the mesh now, and the peer that serves this caller can neither reach nor start one (its log says why); it tries again every second"
	}
	return e.err.Error()
}

func (e *unreachable) Unwrap() error        { return e.err }
func (e *unreachable) Is(target error) bool { return target == ErrUnreachable }

// refusedGrace is how long a peer goes on trying when nothing takes
// connections on the mesh port and it cannot bind the port either, unless
// a broker that may be letting the port go still lives. The next broker
// can then only come from elsewhere: a peer that binds a port the moment
// it is free does so within milliseconds of the loss, and one of another
// machine (IPC_HOST naming it) holds the port while its broker opens the
// store, so a dial is not refused then. Past that, no broker is coming,
// and the caller is told why rather than kept waiting for the 10 s that
// a port which hangs up or a broker that closes may take.
const refusedGrace = time.Second

// noHost is the error of a peer that found no broker on the mesh port
// (the dial was refused) and could not bind the port to host one.
type noHost struct {
	addr string
	dial error // the dial's error: connection refused
	bind error // net.Listen's error
}

func (e *noHost) Error() string {
	dial, bind := netCause(e.dial), netCause(e.bind)
	if addrInUse(e.bind) {
		return fmt.Sprintf("no broker answers on %s (%s), and none can start there: a program holds the port without taking connections (%s); stop that program or pick another port with IPC_PORT", e.addr, dial, bind)
	}
	return fmt.Sprintf("no broker answers on %s (%s), and none can start on this machine, which cannot listen there (%s): start ipcmesh where IPC_HOST and IPC_PORT point, or set them to an address of this machine (127.0.0.1 by default)", e.addr, dial, bind)
}

func (e *noHost) Unwrap() []error { return []error{e.dial, e.bind} }

// netCause is the system's words in a network error, "connect:
// connection refused", without the address the caller names already.
func netCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	return err.Error()
}

// refused reports whether a dial failed because nothing takes connections
// at the address (refused, or no route to it), rather than for a timeout.
func refused(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout()
}

// wsaeaddrinuse is Windows' "address already in use", which syscall
// does not name there.
const wsaeaddrinuse = syscall.Errno(10048)

// addrInUse reports whether a bind failed because something holds the
// port, rather than because the address is not this machine's or the
// port is not the user's to bind.
func addrInUse(err error) bool {
	if runtime.GOOS == "windows" {
		var errno syscall.Errno
		return errors.As(err, &errno) && errno == wsaeaddrinuse
	}
	return errors.Is(err, syscall.EADDRINUSE)
}

// portMayFree reports whether the mesh port, which refuses connections and
// which this peer could not bind, may soon be free: it is held (bind's
// EADDRINUSE) while a broker lives that may be letting it go, the data
// folder's broker on this port or lost, the one this peer was connected
// to. A closed listener's connections, until its process ends, may keep
// the port from being bound on a system that lets no listener share a
// port with them.
func portMayFree(cfg Config, bindErr error, lost int) bool {
	if !addrInUse(bindErr) {
		return false
	}
	if rec, alive := readBrokerRecord(cfg.DataDir); alive && samePort(rec.Addr, cfg.Addr) {
		return true
	}
	return lost > 0 && proc.Alive(lost)
}
