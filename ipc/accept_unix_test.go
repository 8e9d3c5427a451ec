//go:build unix

package ipc_test

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// outOfFilesChild, set in the environment, makes the test binary run the
// body of TestAcceptOutOfFiles: the file limit it lowers is the process's.
const outOfFilesChild = "IPCMESH_TEST_OUT_OF_FILES"

// acceptWatch passes on what its listener accepts and reports the first
// failed accept.
type acceptWatch struct {
	net.Listener
	failed chan error
}

func (l *acceptWatch) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		select {
		case l.failed <- err:
		default:
		}
	}
	return nc, err
}

// A broker whose process runs out of file descriptors does not stop
// accepting: once descriptors are free again, the client that waited and
// new ones are served.
func TestAcceptOutOfFiles(t *testing.T) {
	if os.Getenv(outOfFilesChild) == "" {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestAcceptOutOfFiles$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), outOfFilesChild+"=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the test process with a low file limit failed: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "--- PASS: TestAcceptOutOfFiles") {
			t.Fatalf("the test process with a low file limit did not run the test:\n%s", out)
		}
		return
	}

	watch := &acceptWatch{failed: make(chan error, 1)}
	m := startMesh(t, func(o *meshOptions) {
		o.Wrap = func(ln net.Listener) net.Listener { watch.Listener = ln; return watch }
	})
	m.dial(t).must(t, ipc.OpStatus, nil, nil)

	// Leave this process a few descriptors more than it holds.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	saved := lim
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &saved) })
	probe, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	setTo(&lim.Cur, int(probe.Fd())+8)
	probe.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("lower the file limit: %v", err)
	}
	// Take every descriptor but one, which the client's socket gets: the
	// broker has none for the connection. Something else of this process
	// (the store's work in the background, the runtime) may take that one
	// before the client does, or let go of another that the broker then
	// gets: the client's dial then fails or is served, and the round is
	// made again, the descriptors freed meanwhile taken first.
	fillers := takeDescriptors(t)
	var waiting chan dialed
	for round := 1; ; round++ {
		if len(fillers) == 0 {
			t.Fatal("no descriptor was left to take")
		}
		fillers[0].Close()
		fillers = fillers[1:]
		waiting = make(chan dialed, 1)
		go func() {
			p, err := m.tryDial(m.Keys, ipc.DialOptions{HandshakeTimeout: callTimeout})
			waiting <- dialed{p, err}
		}()
		select {
		case err := <-watch.failed:
			if !errors.Is(err, syscall.EMFILE) {
				t.Fatalf("accept failed with %v, want EMFILE", err)
			}
		case d := <-waiting:
			if d.p != nil {
				d.p.Close()
			}
			if round == 5 {
				t.Fatalf("in %d rounds the broker never ran out of descriptors for a client: the last dial gave %v", round, d.err)
			}
			t.Logf("round %d: another part of the process took or freed a descriptor (the dial: %v); again", round, d.err)
			fillers = append(fillers, takeDescriptors(t)...)
			continue
		case <-time.After(callTimeout):
			t.Fatal("the broker's accept never failed for want of descriptors")
		}
		break
	}
	for _, f := range fillers {
		f.Close()
	}

	d := <-waiting
	if d.err != nil {
		t.Fatalf("the client that connected while the broker had no descriptors: %v", d.err)
	}
	defer d.p.Close()
	d.p.must(t, ipc.OpStatus, nil, nil)
	m.dial(t).must(t, ipc.OpStatus, nil, nil)
}

// dialed is what a dial made in the background came to.
type dialed struct {
	p   *peer
	err error
}

// takeDescriptors opens the null device until the process may open no
// more files, and returns what it opened.
func takeDescriptors(t *testing.T) []*os.File {
	t.Helper()
	var fs []*os.File
	for {
		f, err := os.Open(os.DevNull)
		if errors.Is(err, syscall.EMFILE) {
			return fs
		}
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
}

// setTo sets a limit, whose type is not the same on every unix.
func setTo[T int64 | uint64](p *T, n int) { *p = T(n) }
