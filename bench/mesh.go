package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/tail"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Generous bounds that only turn a hang into an error; they never decide
// whether something was fast enough.
const (
	startTimeout = 30 * time.Second // a child prints its first line
	stopTimeout  = 15 * time.Second // a child exits once told to
)

// mesh is one private mesh: a temporary data folder, a free port on
// 127.0.0.1, a broker child process, and the peers and agents the bench
// added to it.
type mesh struct {
	r    *runner
	name string
	dir  string
	port int
	vars map[string]string
	// prefix names the mesh's stream on the run's NATS cluster; meshes
	// that stand for two hosts of one mesh share it.
	prefix string

	broker    *exec.Cmd
	brokerIn  io.WriteCloser // the broker agent's stdin, held open
	brokerErr *tail.Buffer

	cfgOnce sync.Once
	cfg     election.Config
	cfgErr  error

	mu     sync.Mutex
	peers  []*election.Peer
	agents []*agent
}

// newMesh makes a mesh folder under the run's folder and picks a port.
func (r *runner) newMesh(name string) (*mesh, error) {
	dir, err := os.MkdirTemp(r.root, name+"-")
	if err != nil {
		return nil, fmt.Errorf("make the mesh folder: %w", err)
	}
	m := &mesh{r: r, name: name, dir: dir}
	if err := m.pickPort(); err != nil {
		return nil, err
	}
	return m, nil
}

// pickPort picks the mesh's port, which the next broker binds again after
// a failover (freeport).
func (m *mesh) pickPort() error {
	ports, err := freeport.Pick("127.0.0.1", 1)
	if err != nil {
		return err
	}
	m.port = ports[0]
	m.vars = map[string]string{
		"IPC_HOST":     "127.0.0.1",
		"IPC_PORT":     strconv.Itoa(m.port),
		"IPC_DATA_DIR": m.dir,
		"IPC_LOG":      m.r.getenv("IPC_LOG"),
	}
	if !m.r.opts.DefaultLimits {
		// The per-identity rate limit (500 ops/s, burst 1000 by default)
		// is a flood guard, not the mesh's speed: raised so that it does
		// not decide the figures. --default-limits keeps it.
		m.vars["IPC_RATE_LIMIT"] = "1000000000"
		m.vars["IPC_RATE_BURST"] = "1000000000"
	}
	m.storeVars()
	return nil
}

func (m *mesh) getenv(k string) string { return m.vars[k] }

// environ is this process's environment without the user's IPC_*
// settings, plus the mesh's: the user's own mesh is never touched.
func (m *mesh) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IPC_") {
			env = append(env, kv)
		}
	}
	for k, v := range m.vars {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// command is the ipcmesh binary run with args in the mesh's environment.
func (m *mesh) command(args ...string) *exec.Cmd {
	cmd := exec.Command(m.r.opts.Exe, args...)
	cmd.Env = m.environ()
	cmd.Dir = m.dir
	childAttrs(cmd)
	return cmd
}

// startBroker starts the broker child ("ipcmesh broker", or with a CPU
// profile the bench's broker agent) and waits for its "serving" line. A
// port taken meanwhile by someone else is replaced by another.
func (m *mesh) startBroker(ctx context.Context) error {
	var err error
	for range 3 {
		if err = m.tryStartBroker(ctx); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		if perr := m.pickPort(); perr != nil {
			return perr
		}
	}
	return err
}

func (m *mesh) tryStartBroker(ctx context.Context) error {
	args := []string{"broker"}
	// kill -9 leaves no profile nor trace: (d) runs the real broker.
	profile := (m.r.opts.ProfileDir != "" || m.r.opts.TraceDir != "") && m.name != "d"
	if profile {
		m.r.profiles++
		args = []string{"bench", AgentFlag, modeBroker}
		if d := m.r.opts.ProfileDir; d != "" {
			args = append(args, "--cpuprofile", filepath.Join(d, fmt.Sprintf("broker-%s-%d.pprof", m.name, m.r.profiles)))
		}
		if d := m.r.opts.TraceDir; d != "" {
			args = append(args, "--trace", filepath.Join(d, fmt.Sprintf("broker-%s-%d.trace", m.name, m.r.profiles)))
		}
	}
	cmd := m.command(args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stdin io.WriteCloser
	if profile {
		// The broker agent stops when its stdin closes: keep it open.
		if stdin, err = cmd.StdinPipe(); err != nil {
			return err
		}
	}
	stderr := &tail.Buffer{Max: 8 << 10}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the broker process: %w", err)
	}
	first := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		first <- line
		io.Copy(io.Discard, br)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(startTimeout):
	case <-ctx.Done():
	}
	if !strings.Contains(line, "serving") {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("the broker process did not start: %s", strings.TrimSpace(stderr.String()+" "+line))
	}
	m.broker, m.brokerIn, m.brokerErr = cmd, stdin, stderr
	return nil
}

// brokerPID is the pid of the broker child.
func (m *mesh) brokerPID() int { return m.broker.Process.Pid }

// killBroker kills the broker child with SIGKILL and reaps it.
func (m *mesh) killBroker() error {
	if err := m.broker.Process.Kill(); err != nil {
		return fmt.Errorf("kill the broker: %w", err)
	}
	m.broker.Wait()
	m.broker = nil
	if m.brokerIn != nil {
		m.brokerIn.Close()
	}
	return nil
}

// stopBroker asks the broker child to hand over and stop, as Ctrl-C does.
func (m *mesh) stopBroker() {
	if m.broker == nil {
		return
	}
	cmd := m.broker
	m.broker = nil
	terminate(cmd.Process)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-done
	}
	if m.brokerIn != nil {
		m.brokerIn.Close()
	}
}

// config is the election config every in-process peer of this mesh uses.
func (m *mesh) config() (election.Config, error) {
	m.cfgOnce.Do(func() {
		m.cfg, m.cfgErr = election.FromEnv(m.getenv)
		if m.cfgErr == nil {
			m.cfg.Logger = agentLogger(os.Stderr, m.getenv)
			if m.getenv("IPC_LOG") == "" {
				m.cfg.Logger = agentLogger(io.Discard, m.getenv)
			}
		}
	})
	return m.cfg, m.cfgErr
}

// join adds a peer in this process, registered as name, with its own
// connection to the broker.
func (m *mesh) join(ctx context.Context, name string, onEvent func(ipc.Event)) (*election.Peer, error) {
	cfg, err := m.config()
	if err != nil {
		return nil, err
	}
	cfg.Subscribe = onEvent != nil
	cfg.OnEvent = onEvent
	p, err := election.Join(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := p.Register(ctx, name); err != nil {
		p.Close()
		return nil, fmt.Errorf("register %s: %w", name, err)
	}
	m.mu.Lock()
	m.peers = append(m.peers, p)
	m.mu.Unlock()
	return p, nil
}

// close stops everything in the mesh: agents first, then peers, then the
// broker, so that no one takes over on the way out; then the folder goes.
func (m *mesh) close() {
	m.mu.Lock()
	agents, peers := m.agents, m.peers
	m.agents, m.peers = nil, nil
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.stop() }()
	}
	wg.Wait()
	for _, p := range peers {
		wg.Add(1)
		go func() { defer wg.Done(); p.Close() }()
	}
	wg.Wait()
	m.stopBroker()
	m.dropStore()
	os.RemoveAll(m.dir)
}

// agent is a helper child process (see Agent).
type agent struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	ctl    chan string // every line but messages; closed at EOF
	onMsg  func(id, key string)
	stderr *tail.Buffer
	done   chan struct{} // closed once the process has exited
	err    error
}

// startAgent starts "ipcmesh bench --agent MODE args..." and waits for its
// "ready" line. onMsg receives the "m ID KEY" lines of a recv agent, from
// one goroutine.
func (m *mesh) startAgent(ctx context.Context, mode string, onMsg func(id, key string), args ...string) (*agent, error) {
	if (m.r.opts.ProfileDir != "" || m.r.opts.TraceDir != "") && m.name != "d" {
		m.r.profiles++
		if d := m.r.opts.ProfileDir; d != "" {
			args = append(args, "--cpuprofile", filepath.Join(d, fmt.Sprintf("agent-%s-%s-%d.pprof", m.name, mode, m.r.profiles)))
		}
		if d := m.r.opts.TraceDir; d != "" {
			args = append(args, "--trace", filepath.Join(d, fmt.Sprintf("agent-%s-%s-%d.trace", m.name, mode, m.r.profiles)))
		}
	}
	cmd := m.command(append([]string{"bench", AgentFlag, mode}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	a := &agent{cmd: cmd, stdin: stdin, ctl: make(chan string, 64), onMsg: onMsg, stderr: &tail.Buffer{Max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = a.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start a %s agent: %w", mode, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if rest, ok := strings.CutPrefix(line, "m "); ok && a.onMsg != nil {
				id, key, _ := strings.Cut(rest, " ")
				a.onMsg(id, key)
				continue
			}
			a.ctl <- line
		}
		close(a.ctl)
		a.err = cmd.Wait()
		close(a.done)
	}()
	m.mu.Lock()
	m.agents = append(m.agents, a)
	m.mu.Unlock()
	if _, err := a.expect(ctx, "ready", startTimeout); err != nil {
		return nil, fmt.Errorf("%s agent: %w", mode, err)
	}
	return a, nil
}

func (a *agent) pid() int { return a.cmd.Process.Pid }

// say writes one line to the agent.
func (a *agent) say(format string, args ...any) error {
	_, err := fmt.Fprintf(a.stdin, format+"\n", args...)
	return err
}

// expect waits for the next control line and returns what follows word.
func (a *agent) expect(ctx context.Context, word string, timeout time.Duration) (string, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case line, ok := <-a.ctl:
		if !ok {
			<-a.done
			return "", fmt.Errorf("exited (%v): %s", a.err, strings.TrimSpace(a.stderr.String()))
		}
		rest, found := strings.CutPrefix(line, word)
		if !found {
			return "", fmt.Errorf("said %q, want %q", line, word)
		}
		return strings.TrimSpace(rest), nil
	case <-t.C:
		return "", fmt.Errorf("no %q line within %v: %s", word, timeout, strings.TrimSpace(a.stderr.String()))
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stop closes the agent's stdin, which ends it, and waits for it.
func (a *agent) stop() {
	a.stdin.Close()
	select {
	case <-a.done:
	case <-time.After(stopTimeout):
		a.cmd.Process.Kill()
		<-a.done
	}
}

var errNA = errors.New("not available on this system")
