package main

// Helpers for the end-to-end tests: build the real binary once, run it as
// child processes on a private port and data folder, and wait for what they
// print rather than for time to pass.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// ipcmeshBin is the binary under test, built once by TestMain.
var ipcmeshBin string

// Generous bounds: they only turn a hang into a failure with a message, they
// never decide whether something was fast enough.
const (
	startTimeout = 30 * time.Second // a broker prints its "serving" line
	runTimeout   = 60 * time.Second // a one-shot command exits
)

// Built without -race whatever the tests run with: the tests exercise the
// product as users run it.
func TestMain(m *testing.M) {
	code := testbin.Main(m, &ipcmeshBin, false)
	natsMeshes.Close()
	os.Exit(code)
}

// freePort returns a port on 127.0.0.1 that was free a moment ago, for a
// mesh whose next broker binds it again (freeport).
func freePort(t *testing.T) int {
	t.Helper()
	return freePorts(t, 1)[0]
}

// freePorts returns n distinct ports on 127.0.0.1 that were free a moment
// ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := freeport.Pick("127.0.0.1", n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

// mesh is where a test's processes meet: a port on 127.0.0.1, a data folder
// and extra environment (KEY=VALUE, later entries win).
type mesh struct {
	t    *testing.T
	port int
	dir  string
	env  []string
}

// A detached broker that the test's peers start is killed when the test
// ends.
func newMesh(t *testing.T, env ...string) *mesh {
	t.Helper()
	dir := t.TempDir()
	testbin.StopDetachedBrokers(t, dir)
	return &mesh{t: t, port: freePort(t), dir: dir, env: env}
}

// withDir is the same mesh seen from another data folder.
func (m *mesh) withDir(dir string) *mesh {
	testbin.StopDetachedBrokers(m.t, dir)
	c := *m
	c.dir = dir
	return &c
}

// withPort is the same data folder on another port.
func (m *mesh) withPort(port int) *mesh {
	c := *m
	c.port = port
	return &c
}

// stallingAfter returns m reached through a relay that passes the
// handshake and the first n requests after it, then holds every request
// unanswered: a broker stopped, or stalled on its disk, between a
// command's resume and what it asked for.
func (m *mesh) stallingAfter(t *testing.T, n int) *mesh {
	t.Helper()
	r := testbin.StartRelay(t, testbin.FreeAddr(t), m.addr())
	r.Stall(n)
	_, port, err := net.SplitHostPort(r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return m.withPort(p)
}

// withEnv adds environment settings.
func (m *mesh) withEnv(env ...string) *mesh {
	c := *m
	c.env = append(append([]string(nil), m.env...), env...)
	return &c
}

// setting is the value m's extra environment gives key, "" when none.
func (m *mesh) setting(key string) string {
	v := ""
	for _, kv := range m.env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

func (m *mesh) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port)) }

func (m *mesh) environ() []string {
	env := testbin.CleanEnviron()
	env = append(env, "IPC_HOST=127.0.0.1", "IPC_PORT="+strconv.Itoa(m.port), "IPC_DATA_DIR="+m.dir, testbin.BrokerIdle)
	return append(env, m.env...)
}

// stream collects what a child writes to stdout or stderr, line by line.
type stream = testbin.Stream

// proc is a running ipcmesh child process.
type proc struct {
	t      *testing.T
	label  string
	cmd    *exec.Cmd
	stdout *stream
	stderr *stream
	exited chan struct{} // closed once the process has exited and its output is in
	code   int           // exit status, valid once exited is closed
}

// start runs ipcmesh with args in the background. stdin may be nil. The
// process is killed when the test ends if it is still running.
func (m *mesh) start(stdin io.Reader, args ...string) *proc {
	m.t.Helper()
	return startProc(m.t, m.environ(), stdin, nil, args...)
}

// startWith is start with setup applied to the command before it starts.
func (m *mesh) startWith(setup func(*exec.Cmd), stdin io.Reader, args ...string) *proc {
	m.t.Helper()
	return startProc(m.t, m.environ(), stdin, setup, args...)
}

func startProc(t *testing.T, env []string, stdin io.Reader, setup func(*exec.Cmd), args ...string) *proc {
	t.Helper()
	cmd := exec.Command(ipcmeshBin, args...)
	if setup != nil {
		setup(cmd)
	}
	return startCmd(t, cmd, "ipcmesh "+strings.Join(args, " "), env, stdin)
}

// startCmd runs cmd, which runs ipcmesh in some way, as start does.
func startCmd(t *testing.T, cmd *exec.Cmd, label string, env []string, stdin io.Reader) *proc {
	t.Helper()
	cmd.Env = env
	cmd.Stdin = stdin
	p := &proc{
		t:      t,
		label:  label,
		cmd:    cmd,
		stdout: testbin.NewStream(),
		stderr: testbin.NewStream(),
		exited: make(chan struct{}),
	}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// A grandchild holding the pipes must not keep Wait from returning.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", p.label, err)
	}
	go func() {
		err := cmd.Wait()
		p.code = cmd.ProcessState.ExitCode()
		if err != nil && !errors.As(err, new(*exec.ExitError)) {
			p.code = -1
		}
		p.stdout.Finish()
		p.stderr.Finish()
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.hasExited() {
			cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s (pid %d, exit %d)\n--- stdout (last lines):\n%s--- stderr:\n%s", p.label, cmd.Process.Pid, p.code, tail(p.stdout.String(), 20), tail(p.stderr.String(), 40))
		}
	})
	return p
}

func tail(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]\n", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "")
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// wait waits for the process to exit and returns its exit status.
func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.code
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.exited
		p.t.Fatalf("%s did not exit within %v\nstdout:\n%s\nstderr:\n%s", p.label, timeout, tail(p.stdout.String(), 20), tail(p.stderr.String(), 20))
		return -1
	}
}

// waitLine waits for a line of s that contains substr and returns it.
func (p *proc) waitLine(s *stream, substr string, timeout time.Duration) string {
	p.t.Helper()
	l, err := s.WaitLine(substr, timeout)
	if errors.Is(err, testbin.ErrEnded) {
		p.wait(runTimeout)
		p.t.Fatalf("%s exited (status %d) without printing %q\nstdout:\n%s\nstderr:\n%s", p.label, p.code, substr, tail(p.stdout.String(), 20), tail(p.stderr.String(), 20))
	}
	if err != nil {
		p.t.Fatalf("%s did not print %q within %v\nstdout:\n%s\nstderr:\n%s", p.label, substr, timeout, tail(p.stdout.String(), 20), tail(p.stderr.String(), 20))
	}
	return l
}

// interrupt asks the process to stop as Ctrl-C does. Windows cannot send
// that signal to another process, so there it is killed instead.
func (p *proc) interrupt() {
	p.t.Helper()
	if runtime.GOOS == "windows" {
		p.cmd.Process.Kill()
		return
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		p.t.Fatalf("interrupt %s: %v", p.label, err)
	}
}

// stopAsCtrlC interrupts the process and waits for it to exit, which it
// must do with status 0 where interrupt sends Ctrl-C. On Windows, where
// interrupt kills it, any status goes; graceful says which it was, for
// the checks of what a process does as it stops (its last lines, its
// profile).
func (p *proc) stopAsCtrlC(timeout time.Duration) (graceful bool) {
	p.t.Helper()
	p.interrupt()
	code := p.wait(timeout)
	if runtime.GOOS == "windows" {
		return false
	}
	if code != 0 {
		p.t.Errorf("%s exited %d after an interrupt; stderr:\n%s", p.label, code, tail(p.stderr.String(), 20))
	}
	return true
}

// startBroker runs "ipcmesh broker" and waits for its "serving" line.
func (m *mesh) startBroker() *proc {
	m.t.Helper()
	p := m.start(nil, "broker")
	p.waitLine(p.stdout, "serving", startTimeout)
	return p
}

// result is what a one-shot command left behind.
type result struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// run runs ipcmesh with args to completion.
func (m *mesh) run(args ...string) result {
	m.t.Helper()
	return m.runIn("", args...)
}

// runIn runs ipcmesh with args and stdin to completion.
func (m *mesh) runIn(stdin string, args ...string) result {
	m.t.Helper()
	return runProc(m.t, m.environ(), stdin, runTimeout, args...)
}

func runProc(t *testing.T, env []string, stdin string, timeout time.Duration, args ...string) result {
	t.Helper()
	start := time.Now()
	p := startProc(t, env, strings.NewReader(stdin), nil, args...)
	code := p.wait(timeout)
	return result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String(), took: time.Since(start)}
}

// mustRun runs ipcmesh with args and fails the test unless it exits 0.
func (m *mesh) mustRun(args ...string) result {
	m.t.Helper()
	r := m.run(args...)
	if r.code != 0 {
		m.t.Fatalf("ipcmesh %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// mustFail runs ipcmesh with args, wants exit status 1 and a single line on
// stderr naming the command, and returns that line.
func (m *mesh) mustFail(args ...string) string {
	m.t.Helper()
	r := m.run(args...)
	return oneLineError(m.t, r, args[0])
}

// mustMisuse runs ipcmesh with args, wants exit status 2 (called
// wrongly): an error line naming the command, then the usage line; it
// returns the error line.
func (m *mesh) mustMisuse(args ...string) string {
	m.t.Helper()
	r := m.run(args...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], "ipcmesh "+args[0]+": ") || !strings.HasPrefix(lines[1], "usage: ipcmesh "+args[0]) {
		m.t.Fatalf("ipcmesh %s: want exit status 2, an error and the usage line, got %s", args[0], r)
	}
	return lines[0]
}

func oneLineError(t *testing.T, r result, cmd string) string {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("ipcmesh %s: want exit status 1, got %s", cmd, r)
	}
	msg := strings.TrimRight(r.stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("ipcmesh %s: want a one-line error on stderr, got %s", cmd, r)
	}
	if !strings.HasPrefix(msg, "ipcmesh "+cmd+": ") {
		t.Fatalf("ipcmesh %s: the error does not say which command failed: %q", cmd, msg)
	}
	return msg
}

// mustJSON runs ipcmesh with args, wants exit status 0, and decodes stdout
// into v.
func (m *mesh) mustJSON(v any, args ...string) {
	m.t.Helper()
	r := m.mustRun(args...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		m.t.Fatalf("ipcmesh %s: stdout is not the JSON expected (%v):\n%s", strings.Join(args, " "), err, r.stdout)
	}
}

func (m *mesh) status() ipc.StatusResult {
	m.t.Helper()
	var s ipc.StatusResult
	m.mustJSON(&s, "status", "--json")
	return s
}

// counted is a count of status, -1 when the store did not answer for it.
func counted(n *int) int {
	if n == nil {
		return -1
	}
	return *n
}

func (m *mesh) check(args ...string) ipc.CheckResult {
	m.t.Helper()
	var r ipc.CheckResult
	m.mustJSON(&r, append([]string{"check", "--json"}, args...)...)
	return r
}

// keys derives the mesh keys the way every peer does: IPC_SHARED_SECRET
// when given, else the secret file in the data folder.
func (m *mesh) keys(env string) auth.Keys {
	m.t.Helper()
	secret, _, err := auth.LoadSecret(m.dir, env)
	if err != nil {
		m.t.Fatalf("load secret: %v", err)
	}
	keys, err := auth.DeriveKeys(secret)
	if err != nil {
		m.t.Fatalf("derive keys: %v", err)
	}
	return keys
}

// dial connects to the mesh with the ipc package, as a program other than
// the CLI would.
func (m *mesh) dial(keys auth.Keys, opts ipc.DialOptions) *ipc.Client {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ipc.Dial(ctx, m.addr(), keys, opts)
	if err != nil {
		m.t.Fatalf("dial %s: %v", m.addr(), err)
	}
	m.t.Cleanup(func() { c.Close() })
	return c
}

// portFree reports whether the mesh port can be bound now, which is how a
// test sees that no process serves it any more.
func portFree(t *testing.T, port int) bool {
	t.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// fileState is what a test remembers of one file or folder.
type fileState struct {
	dir     bool
	mode    fs.FileMode
	size    int64
	modTime time.Time
	sum     string // the content, for small files
}

// snapshot walks root and records every file and folder under it.
func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := make(map[string]fileState)
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		st := fileState{dir: d.IsDir(), mode: fi.Mode(), size: fi.Size(), modTime: fi.ModTime()}
		if !d.IsDir() && fi.Size() < 1<<20 {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.sum = string(b)
		}
		out[filepath.ToSlash(rel)] = st
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}
