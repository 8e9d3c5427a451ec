// Package testbin builds the ipcmesh binary for tests that run it as a
// child process, the way users run it: election, failover and the MCP
// server are only tested for real across process boundaries.
package testbin

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// Build compiles cmd/ipcmesh into dir and returns the binary's path. With
// race it is built with the race detector, so that a child's data race
// fails the test that started it.
func Build(dir string, race bool) (string, error) {
	return BuildProgram(dir, "ipcmesh", race)
}

// BuildProgram compiles cmd/NAME (ipcmesh, or a standalone ipc_* program)
// into dir and returns the binary's path, as Build does.
func BuildProgram(dir, name string, race bool) (string, error) {
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	bin := filepath.Join(dir, name+exe)
	// go test puts its own toolchain's bin folder first on PATH, so the go
	// found there builds the binary with the toolchain running the tests.
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command to build ./cmd/%s: %w", name, err)
	}
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	build := exec.Command(goCmd, append(args, "github.com/ipcmesh/ipcmesh/cmd/"+name)...)
	build.Env = CleanEnviron()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	return bin, nil
}

// CleanEnviron is this process's environment without any IPC_* setting,
// so that a developer's own mesh configuration never leaks into a test.
func CleanEnviron() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(strings.ToUpper(kv), "IPC_") {
			env = append(env, kv)
		}
	}
	return env
}

// Listen listens on addr (a free 127.0.0.1 port if "") until the test
// ends, and hands each connection to handle in a goroutine of its own,
// with a minute's deadline, closing it once handle returns. It returns
// the address: a test's stand-in for what may hold the mesh port.
func Listen(tb testing.TB, addr string, handle func(net.Conn)) string {
	tb.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(time.Minute))
				handle(nc)
			}()
		}
	}()
	return ln.Addr().String()
}

// ForeignListener listens on a free 127.0.0.1 port the way a program that
// is not ipcmesh would (it answers every connection like a web server and
// hangs up) and returns its address. It stops when the test ends. Tests
// hold the mesh port with it to check that peers refuse to talk to it.
func ForeignListener(tb testing.TB) string {
	tb.Helper()
	return Listen(tb, "", func(c net.Conn) {
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	})
}

// RefusingListener listens on addr (a free 127.0.0.1 port if "") the way
// a program without the secret could: it reads the hello and refuses it
// with e, whose message is words of its own. It returns the address and
// stops when the test ends.
func RefusingListener(tb testing.TB, addr string, e *ipcmesh.Error) string {
	tb.Helper()
	return Listen(tb, addr, func(nc net.Conn) {
		// The wire's frames (PROTOCOL.md section 2): a 4-byte big-endian
		// length, then JSON. The hello is frame 1.
		var hdr [4]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return
		}
		if _, err := io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(hdr[:]))); err != nil {
			return
		}
		body, _ := json.Marshal(map[string]any{"id": 1, "error": e})
		nc.Write(binary.BigEndian.AppendUint32(nil, uint32(len(body))))
		nc.Write(body)
	})
}

// FreeAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for a test mesh to bind, and each next broker after it (freeport).
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	ports, err := freeport.Pick("127.0.0.1", 1)
	if err != nil {
		tb.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
}

// RandomKeys returns the keys of a fresh random secret: a private mesh no
// other test, and no developer's own mesh, can talk to.
func RandomKeys(tb testing.TB) auth.Keys {
	tb.Helper()
	keys, err := auth.DeriveKeys([]byte(rand.Text()))
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

// RandomSecret returns a fresh random secret, to give a child as
// IPC_SHARED_SECRET, and the keys every peer derives from it: a private
// mesh no other test, and no developer's own mesh, can talk to.
func RandomSecret(tb testing.TB) (string, auth.Keys) {
	tb.Helper()
	secret := rand.Text()
	stretched, _, err := auth.LoadSecret("", secret)
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := auth.DeriveKeys(stretched)
	if err != nil {
		tb.Fatal(err)
	}
	return secret, keys
}

// Main is the body of a TestMain for tests that run the binary: it builds
// it into a temporary folder (with the race detector when race is set),
// stores its path in *bin, runs the tests and removes the folder. It
// returns the exit code for os.Exit.
func Main(m *testing.M, bin *string, race bool) int {
	dir, err := os.MkdirTemp("", "ipcmesh-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "make a temporary folder for the test binary:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = Build(dir, race); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// BrokerIdle is the IPC_BROKER_IDLE that tests give the binary: a detached
// broker that a crashed test leaves behind stops by itself soon.
const BrokerIdle = "IPC_BROKER_IDLE=30s"

// DetachedBroker returns the pid of the detached broker that peers started
// for dataDir, if one is running. It reads the record the broker keeps in
// the data folder (election's broker.json).
func DetachedBroker(dataDir string) (pid int, ok bool) {
	var rec struct {
		PID      int  `json:"pid"`
		Detached bool `json:"detached"`
	}
	b, err := os.ReadFile(filepath.Join(dataDir, "broker.json"))
	if err != nil || json.Unmarshal(b, &rec) != nil || !rec.Detached || rec.PID <= 0 {
		return 0, false
	}
	return rec.PID, Alive(rec.PID)
}

// Alive reports whether a process with this pid is running and not a
// zombie, as proc.Alive tells on every system: a signal 0, which a test
// sent before, is refused on Windows, where every broker was taken for
// gone and left running.
func Alive(pid int) bool { return proc.Alive(pid) }

// StopDetachedBrokers registers a cleanup that kills the detached broker
// a test's peers may have started for dataDir: it outlives its peers by
// design, but nothing a test starts may outlive the test. One still
// opening its store has not recorded itself yet; left running, it wrote
// into dataDir while the test's cleanup removed it ("directory not
// empty"), and on linux it is found by its working folder, dataDir.
func StopDetachedBrokers(tb testing.TB, dataDir string) {
	tb.Cleanup(func() {
		pids := workingIn(dataDir)
		if pid, ok := DetachedBroker(dataDir); ok && !slices.Contains(pids, pid) {
			pids = append(pids, pid)
		}
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill()
			}
		}
		for _, pid := range pids {
			Eventually(tb, 10*time.Second, fmt.Sprintf("the detached broker (pid %d) to exit", pid), func() bool { return !Alive(pid) })
		}
	})
}

// Eventually calls cond until it reports true, and fails tb, saying what
// it waited for, once timeout has passed. It is only for states that
// nothing announces (a request the broker now holds, a process that is not
// the test's child exiting): the pause between calls merely spaces them.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("gave up after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
