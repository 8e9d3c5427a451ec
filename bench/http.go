package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/restclient"
	"github.com/ipcmesh/ipcmesh/internal/tail"
)

// The faces a run can measure (Options.Face).
const (
	FaceNative = "native"
	// FaceHTTP measures the HTTP figures through "ipcmesh serve --http",
	// a process beside the broker's, as a face started by itself runs.
	FaceHTTP = "http"
	// FaceBroker measures them through the face that "ipcmesh broker
	// --http" serves from the broker's own process.
	FaceBroker = "broker"
)

// face is the HTTP face of a mesh on a free port of 127.0.0.1: an
// "ipcmesh serve --http" child joined to the mesh's broker child, or an
// "ipcmesh broker --http" child that is the broker too (inBroker).
type face struct {
	m        *mesh
	cmd      *exec.Cmd
	command  string // the ipcmesh command it runs: serve or broker
	url      string
	inBroker bool
	profile  string // where its CPU profile goes, with --profile
	trace    string // where its execution trace goes, with --trace
	stderr   *tail.Buffer
	done     chan struct{}
}

// startFace starts the face and waits for its "serving" line. The per-key
// rate limit of the face is raised as the broker's is, unless
// --default-limits.
func (m *mesh) startFace(ctx context.Context, inBroker bool) (*face, error) {
	command, kind := "serve", "face"
	if inBroker {
		command, kind = "broker", "broker-face"
	}
	cmd := m.command(command, "--http", "127.0.0.1:0")
	if !m.r.opts.DefaultLimits {
		cmd.Env = append(cmd.Env, "IPC_HTTP_RATE=1000000000", "IPC_HTTP_BURST=1000000000")
	}
	// The face writes DIR/COMMAND-PID.pprof and .trace as it exits; stop
	// names them as the bench's other profiles and traces are named.
	var profile, trace string
	if m.r.opts.ProfileDir != "" || m.r.opts.TraceDir != "" {
		m.r.profiles++
	}
	if d := m.r.opts.ProfileDir; d != "" {
		cmd.Env = append(cmd.Env, "IPC_PROFILE_DIR="+d)
		profile = filepath.Join(d, fmt.Sprintf("%s-%s-%d.pprof", kind, m.name, m.r.profiles))
	}
	if d := m.r.opts.TraceDir; d != "" {
		cmd.Env = append(cmd.Env, "IPC_TRACE_DIR="+d)
		trace = filepath.Join(d, fmt.Sprintf("%s-%s-%d.trace", kind, m.name, m.r.profiles))
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f := &face{m: m, cmd: cmd, command: command, inBroker: inBroker, profile: profile, trace: trace, stderr: &tail.Buffer{Max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = f.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the HTTP face: %w", err)
	}
	first := make(chan string, 1)
	go func() {
		// The broker says it serves the mesh before its face does.
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		if inBroker && strings.HasPrefix(line, "ipcmesh broker serving") {
			line, _ = br.ReadString('\n')
		}
		first <- line
		io.Copy(io.Discard, br)
		cmd.Wait()
		close(f.done)
	}()
	var line string
	select {
	case line = <-first:
	case <-time.After(startTimeout):
	case <-ctx.Done():
	}
	// "ipcmesh serving http://127.0.0.1:PORT (mesh ...)"
	rest, ok := strings.CutPrefix(line, "ipcmesh serving ")
	url, _, _ := strings.Cut(rest, " ")
	if !ok || !strings.HasPrefix(url, "http://") {
		f.stop()
		return nil, fmt.Errorf("the HTTP face did not start: %s", strings.TrimSpace(f.stderr.String()+" "+line))
	}
	f.url = url
	return f, nil
}

func (f *face) pid() int { return f.cmd.Process.Pid }

// stop asks the face to stop, as Ctrl-C does, and waits for it.
func (f *face) stop() {
	terminate(f.cmd.Process)
	select {
	case <-f.done:
	case <-time.After(stopTimeout):
		f.cmd.Process.Kill()
		<-f.done
	}
	if f.profile != "" {
		os.Rename(filepath.Join(f.m.r.opts.ProfileDir, fmt.Sprintf("%s-%d.pprof", f.command, f.pid())), f.profile)
	}
	if f.trace != "" {
		os.Rename(filepath.Join(f.m.r.opts.TraceDir, fmt.Sprintf("%s-%d.trace", f.command, f.pid())), f.trace)
	}
}

// keyFor makes an access key for name as a user does: ipcmesh key create.
func (m *mesh) keyFor(ctx context.Context, name string) (string, error) {
	cmd := m.command("key", "create", name, "--label", "bench")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("ipcmesh key create %s: %w: %s", name, err, strings.TrimSpace(errb.String()))
	}
	key := strings.TrimSpace(out.String())
	if key == "" || strings.ContainsAny(key, " \n") {
		return "", fmt.Errorf("ipcmesh key create %s printed %q, want the key", name, key)
	}
	return key, nil
}

// restClient speaks the REST face with one key, over kept-alive
// connections: the client the gateway's own benchmarks use too, so that
// both measure the same one.
type restClient struct{ c *restclient.Client }

func (f *face) client(key string) *restClient {
	return &restClient{restclient.New(f.url, key, 8)}
}

// call sends one request with a JSON body (in, unless nil) and decodes a
// 2xx answer into out (unless nil); any other answer is an error.
func (c *restClient) call(ctx context.Context, method, path string, in, out any) error {
	return c.c.Call(ctx, method, path, in, out)
}

func (c *restClient) send(ctx context.Context, to, content string) error {
	return c.c.Send(ctx, to, content)
}

// read checks the inbox, waiting up to wait, and acks what it returned
// after handing each message's content to fn.
func (c *restClient) read(ctx context.Context, wait time.Duration, fn func(from, content string) error) error {
	return c.c.Read(ctx, wait, fn)
}

// faceMesh is a mesh with a broker child and an HTTP face child, or with
// a broker child that serves the face (FaceBroker); close the face to
// close both.
func (r *runner) faceMesh(ctx context.Context, name string) (*face, error) {
	m, err := r.newMesh(name)
	if err != nil {
		return nil, err
	}
	inBroker := r.opts.Face == FaceBroker
	if !inBroker {
		if err := m.startBroker(ctx); err != nil {
			m.close()
			return nil, err
		}
	}
	f, err := m.startFace(ctx, inBroker)
	if err != nil {
		m.close()
		return nil, err
	}
	return f, nil
}

// close stops the face, then its mesh.
func (f *face) close() {
	f.stop()
	f.m.close()
}

// clients makes a key for each name with ipcmesh key create, and a client
// that uses it.
func (f *face) clients(ctx context.Context, names ...string) ([]*restClient, error) {
	cs := make([]*restClient, len(names))
	for i, name := range names {
		key, err := f.m.keyFor(ctx, name)
		if err != nil {
			return nil, err
		}
		cs[i] = f.client(key)
	}
	return cs, nil
}
