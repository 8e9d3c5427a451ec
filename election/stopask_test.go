package election

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// stopChildEnv makes TestStopChild play a broker in a child process of
// the test binary: its value is the part, the address, the data folder
// and the secret, separated by tabs.
const stopChildEnv = "ELECTION_STOP_CHILD"

// The parts a stop child plays.
const (
	// deaf hosts a broker that can be asked to stop, in a process that
	// ignores SIGTERM, as a broker on Windows cannot be sent one: only
	// the request stops it.
	deaf = "deaf"
	// signalled hosts a broker that can be asked to stop, and ends on
	// SIGTERM as ipcmesh does.
	signalled = "signalled"
	// older is a broker of revision 4, older than the stop request,
	// which answers every request unknown_op and ends on SIGTERM.
	older = "older"
)

// stopChild is a broker in a child process, for ipcmesh stop to stop: a
// broker is stopped by its pid, which must not be the test's own.
type stopChild struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // how it exited, once exited is closed
	stderr strings.Builder
}

// startStopChild starts a child that plays part as the broker of m, with
// secret as m's, and returns once it serves.
func startStopChild(t *testing.T, m *mesh, secret, part string) *stopChild {
	t.Helper()
	c := &stopChild{cmd: exec.Command(os.Args[0], "-test.run=^TestStopChild$", "-test.count=1"), exited: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), stopChildEnv+"="+strings.Join([]string{part, m.addr, m.dir, secret}, "\t"))
	c.cmd.Stderr = &c.stderr
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	served := lines.Scan() && lines.Text() == "serving"
	go func() {
		for lines.Scan() {
		}
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		c.cmd.Process.Kill()
		<-c.exited
	})
	if !served {
		c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("the %s broker did not start: %v\n%s", part, c.err, c.stderr.String())
	}
	return c
}

// waitExit returns how the child exited, failing the test if it has not
// within a few seconds of ipcmesh stop's return, which waits for it.
func (c *stopChild) waitExit(t *testing.T) error {
	t.Helper()
	select {
	case <-c.exited:
		return c.err
	case <-time.After(10 * time.Second):
		t.Fatalf("the broker (pid %d) still runs after ipcmesh stop returned", c.cmd.Process.Pid)
		return nil
	}
}

// TestStopChild is a child's part in the tests of ipcmesh stop, not a
// test of its own.
func TestStopChild(t *testing.T) {
	v := os.Getenv(stopChildEnv)
	if v == "" {
		t.Skip("the part of a child of the tests of ipcmesh stop")
	}
	args := strings.Split(v, "\t")
	if len(args) != 4 {
		t.Fatalf("%s=%q: want part, address, data folder and secret", stopChildEnv, v)
	}
	part, addr, dir, secret := args[0], args[1], args[2], args[3]
	keys, err := auth.DeriveKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	if part == deaf {
		signal.Ignore(syscall.SIGTERM)
	} else {
		ctx, stop = signal.NotifyContext(ctx, syscall.SIGTERM)
		defer stop()
	}
	if part == older {
		serveOlder(t, ctx, addr, dir, keys)
		return
	}
	p, err := Join(ctx, Config{Addr: addr, DataDir: dir, Keys: keys, StopAsked: stop})
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsBroker() {
		t.Fatal("another broker serves the mesh")
	}
	fmt.Println("serving")
	<-ctx.Done()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

// serveOlder answers on addr as a broker of revision 4 of the data folder
// dir does, until ctx ends: it proves the secret and answers every request
// unknown_op, the stop request included.
func serveOlder(t *testing.T, ctx context.Context, addr, dir string, keys auth.Keys) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	info := ipc.BrokerInfo{PID: os.Getpid(), Addr: addr, Started: time.Now().UTC(), DataDir: dir, Revision: 4}
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serveOlderConn(nc, keys, info)
		}
	}()
	fmt.Println("serving")
	<-ctx.Done()
}

func serveOlderConn(nc net.Conn, keys auth.Keys, info ipc.BrokerInfo) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	if !proveAs(nc, br, keys, info) {
		return
	}
	for {
		f, err := ipc.ReadFrame(br, 1<<20)
		if err != nil {
			return
		}
		ipc.WriteFrame(nc, &ipc.Frame{ID: f.ID, Error: ipcmesh.Errorf(ipcmesh.CodeUnknownOp, "unknown op %q", f.Op)})
	}
}

// secretMesh is a mesh whose secret can be given to a child.
func secretMesh(t *testing.T) (*mesh, string) {
	t.Helper()
	m := newMesh(t)
	secret := rand.Text()
	keys, err := auth.DeriveKeys([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	m.keys = keys
	return m, secret
}

// ipcmesh stop asks the broker to stop and hand over, and it does as on
// SIGTERM, on every system: the broker here ignores SIGTERM, as one on
// Windows cannot be sent it, where stop used to kill it. Its peer sees a
// hand-over, not a crash, takes its place, and its next send is stored.
func TestStopAsksTheBrokerToHandOver(t *testing.T) {
	m, secret := secretMesh(t)
	child := startStopChild(t, m, secret, deaf)
	lost := make(chan struct{}, 4) // the peer's connections lost
	cfg := m.config()
	cfg.OnConnection = func(_ ipc.BrokerInfo, up bool) {
		if !up {
			lost <- struct{}{}
		}
	}
	p, err := Join(ctxT(t), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.Register(ctxT(t), "survivor"); err != nil {
		t.Fatal(err)
	}

	st, err := StopBroker(ctxT(t), m.config())
	if err != nil {
		t.Fatalf("ipcmesh stop of a broker that ignores SIGTERM: %v", err)
	}
	if !st.Asked || st.Killed || st.NotAsked != "" || st.PID != child.cmd.Process.Pid {
		t.Errorf("StopBroker = %+v; want the broker (pid %d) asked to stop, not killed", st, child.cmd.Process.Pid)
	}
	if err := child.waitExit(t); err != nil {
		t.Errorf("the broker asked to stop exited with %v, want 0\n%s", err, child.stderr.String())
	}
	<-lost
	res, err := p.Send(ctxT(t), "survivor", "after the stop")
	if err != nil {
		t.Fatalf("a send after the broker was asked to stop: %v", err)
	}
	if res.Message.ID == "" {
		t.Errorf("the send after the stop was not stored: %+v", res)
	}
	if !p.IsBroker() {
		t.Error("the surviving peer did not take the broker's place")
	}
}

// A broker that refuses the request, here for a key that is not its own
// (its record rewritten), is sent SIGTERM, as before the request, or on
// Windows killed: stop still stops it, and says why it was not asked.
func TestStopSignalsABrokerThatRefuses(t *testing.T) {
	m, secret := secretMesh(t)
	child := startStopChild(t, m, secret, signalled)
	rec, alive := readBrokerRecord(m.dir)
	if !alive || rec.StopKey == "" {
		t.Fatalf("the broker's record %+v holds no stop key", rec)
	}
	rec.StopKey = rand.Text()
	if err := writeBrokerRecord(m.dir, rec); err != nil {
		t.Fatal(err)
	}
	st, err := StopBroker(ctxT(t), m.config())
	if err != nil {
		t.Fatalf("ipcmesh stop of a broker that refuses the request: %v", err)
	}
	if st.Asked || !strings.Contains(st.NotAsked, "not this broker's") || st.Killed != (runtime.GOOS == "windows") {
		t.Errorf("StopBroker = %+v; want it not asked, for the key, and signalled", st)
	}
	child.waitExit(t)
}

// A broker older than the stop request says so by its revision: it is
// not asked, but sent SIGTERM, or on Windows killed, as before.
func TestStopSignalsAnOlderBroker(t *testing.T) {
	m, secret := secretMesh(t)
	child := startStopChild(t, m, secret, older)
	st, err := StopBroker(ctxT(t), m.config())
	if err != nil {
		t.Fatalf("ipcmesh stop of an older broker: %v", err)
	}
	if st.Asked || !strings.Contains(st.NotAsked, "older ipcmesh (revision 4)") || st.Killed != (runtime.GOOS == "windows") {
		t.Errorf("StopBroker = %+v; want it not asked, as an older broker, and signalled", st)
	}
	child.waitExit(t)
}
