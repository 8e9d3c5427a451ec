package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// AgentFlag is the hidden argument that makes "ipcmesh bench" run as one of
// the bench's helper processes instead of the bench itself:
//
//	ipcmesh bench --agent MODE [--name NAME] [--to NAME] [--cpuprofile FILE] [--trace FILE]
//
// The bench starts these children itself, with the private mesh in their
// environment. They talk to the bench over stdin and stdout, one line per
// event, and exit when their stdin closes (so they never outlive it).
const AgentFlag = "--agent"

// The agent modes.
const (
	// modeBroker hosts the broker like "ipcmesh broker" does, optionally
	// under a CPU profile. Used instead of "ipcmesh broker" with --profile.
	modeBroker = "broker"
	// modeSend registers --name and, on each stdin line "go TAG N", sends N
	// messages to --to one after another (each waits for its ack), then
	// prints "result JSON".
	modeSend = "send"
	// modeRecv registers --name, subscribed as an assistant's MCP server
	// is, and reads its mail (check, then ack), printing "m ID KEY" per
	// message; on "stop" it drains its inbox and prints "done PUSHED", the
	// number of messages pushed to it.
	modeRecv = "recv"
	// modeEcho registers --name with push delivery and answers every
	// message pushed to it by sending the same content back to its sender.
	modeEcho = "echo"
)

// roundResult is what a send agent prints after a round.
type roundResult struct {
	Sent int `json:"sent"`
	// InFlight is the most sends that were in flight at once.
	InFlight int    `json:"in_flight"`
	Start    int64  `json:"start_unix_ns"`
	End      int64  `json:"end_unix_ns"`
	Error    string `json:"error,omitempty"`
}

// filler pads bench messages to the length of an ordinary message, a
// sentence or two, as assistants send.
const filler = "a message of an ordinary length, a sentence or two long, as assistants send to each other"

// fillerWord is a word of the filler, so every bench message holds it.
const fillerWord = "ordinary"

// content is the body of bench message KEY: the key, a space, the filler.
func content(key string) string { return key + " " + filler }

// keyOf returns the key of a bench message body.
func keyOf(body string) string {
	if i := strings.IndexByte(body, ' '); i >= 0 {
		return body[:i]
	}
	return body
}

// Agent runs one of the bench's helper processes. args are the arguments
// after AgentFlag: the mode first, then its flags.
func Agent(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return errors.New("bench agent: a mode is required")
	}
	mode := args[0]
	fs := flag.NewFlagSet("bench agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "the name to register")
	to := fs.String("to", "", "the recipient of a send agent")
	window := fs.Int("window", 1, "how many sends a send agent keeps in flight")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of this process to `FILE`")
	traceFile := fs.String("trace", "", "write an execution trace of this process to `FILE`")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("bench agent: %w", err)
	}
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err != nil {
			return fmt.Errorf("bench agent: %w", err)
		}
		if err := trace.Start(f); err != nil {
			f.Close()
			return fmt.Errorf("bench agent: %w", err)
		}
		defer func() {
			trace.Stop()
			f.Close()
		}()
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return fmt.Errorf("bench agent: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("bench agent: %w", err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	// The agent ends when the bench closes its stdin, or dies.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		cancel()
	}()
	out := &lineWriter{w: bufio.NewWriter(stdout)}
	a := &agentRun{ctx: ctx, getenv: getenv, stderr: stderr, out: out, lines: lines}
	switch mode {
	case modeBroker:
		return a.broker()
	case modeSend:
		return a.send(*name, *to, max(*window, 1))
	case modeRecv:
		return a.recv(*name)
	case modeEcho:
		return a.echo(*name)
	}
	return fmt.Errorf("bench agent: unknown mode %q", mode)
}

type agentRun struct {
	ctx    context.Context
	getenv func(string) string
	stderr io.Writer
	out    *lineWriter
	lines  <-chan string
}

// lineWriter prints whole lines and flushes each at once, from any
// goroutine.
type lineWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lineWriter) printf(format string, args ...any) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
	return l.w.Flush()
}

// join joins the mesh in the environment as every ipcmesh command does.
func (a *agentRun) join(subscribe bool, onEvent func(ipc.Event)) (*election.Peer, error) {
	cfg, err := election.FromEnv(a.getenv)
	if err != nil {
		return nil, err
	}
	cfg.Logger = agentLogger(a.stderr, a.getenv)
	cfg.Subscribe = subscribe
	cfg.OnEvent = onEvent
	return election.Join(a.ctx, cfg)
}

func agentLogger(w io.Writer, getenv func(string) string) *slog.Logger {
	level := slog.LevelWarn
	switch strings.ToLower(getenv("IPC_LOG")) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "error":
		level = slog.LevelError
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// register joins and registers name.
func (a *agentRun) register(name string, subscribe bool, onEvent func(ipc.Event)) (*election.Peer, error) {
	if name == "" {
		return nil, errors.New("bench agent: --name is required")
	}
	p, err := a.join(subscribe, onEvent)
	if err != nil {
		return nil, err
	}
	if _, err := p.Register(a.ctx, name); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// broker hosts the broker until stdin closes or the process is told to
// stop, then hands over as "ipcmesh broker" does.
func (a *agentRun) broker() (err error) {
	p, err := a.join(false, nil)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.Close(); err == nil && !errors.Is(cerr, election.ErrClosed) {
			err = cerr
		}
	}()
	if !p.IsBroker() {
		return fmt.Errorf("a broker already serves %s", p.Addr())
	}
	a.out.printf("ipcmesh broker serving %s (data folder %s); bench agent", p.Addr(), p.DataDir())
	<-a.ctx.Done()
	return nil
}

// send sends rounds of messages on the bench's "go TAG N" lines.
func (a *agentRun) send(name, to string, window int) (err error) {
	if to == "" {
		return errors.New("bench agent: --to is required")
	}
	p, err := a.register(name, false, nil)
	if err != nil {
		return err
	}
	defer p.Close()
	a.out.printf("ready")
	for {
		var line string
		select {
		case line = <-a.lines:
		case <-a.ctx.Done():
			return nil
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "go" {
			return fmt.Errorf("bench agent: unexpected line %q", line)
		}
		tag := f[1]
		n, err := strconv.Atoi(f[2])
		if err != nil {
			return fmt.Errorf("bench agent: unexpected line %q", line)
		}
		var r roundResult
		r.Start = time.Now().UnixNano()
		r.Sent, r.InFlight, r.Error = sendRound(a.ctx, p, to, tag, n, window)
		r.End = time.Now().UnixNano()
		b, _ := json.Marshal(r)
		if err := a.out.printf("result %s", b); err != nil {
			return err
		}
	}
}

// recv reads its mail as an assistant's check does (check, print, ack) and
// prints every message it is given, until told to stop.
func (a *agentRun) recv(name string) error {
	var pushed atomic.Int64
	p, err := a.register(name, true, func(ev ipc.Event) {
		if ev.Name == ipc.EventMessage {
			pushed.Add(1)
		}
	})
	if err != nil {
		return err
	}
	defer p.Close()
	a.out.printf("ready")
	stopping := false
	for {
		if !stopping {
			select {
			case line := <-a.lines:
				if line != "stop" {
					return fmt.Errorf("bench agent: unexpected line %q", line)
				}
				stopping = true
			default:
			}
		}
		wait := 200 * time.Millisecond
		if stopping {
			wait = 0
		}
		r, err := p.Check(a.ctx, 1000, wait)
		if a.ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		if len(r.Messages) == 0 {
			if stopping {
				return a.out.printf("done %d", pushed.Load())
			}
			continue
		}
		ids := make([]string, len(r.Messages))
		a.out.mu.Lock()
		for i, m := range r.Messages {
			ids[i] = m.ID
			fmt.Fprintf(a.out.w, "m %s %s\n", m.ID, keyOf(m.Content))
		}
		err = a.out.w.Flush()
		a.out.mu.Unlock()
		if err != nil {
			return err
		}
		if _, err := p.Ack(a.ctx, ids); err != nil {
			return err
		}
	}
}

// echo answers every pushed message with the same content, to its sender.
func (a *agentRun) echo(name string) error {
	pushed := make(chan ipcmesh.Message, 1024)
	p, err := a.register(name, true, func(ev ipc.Event) {
		var m ipcmesh.Message
		if ev.Name != ipc.EventMessage || json.Unmarshal(ev.Body, &m) != nil {
			return
		}
		select {
		case pushed <- m:
		default: // the bench sends one ping at a time: never full
		}
	})
	if err != nil {
		return err
	}
	defer p.Close()
	a.out.printf("ready")
	for {
		select {
		case m := <-pushed:
			if _, err := p.Send(a.ctx, m.From, m.Content); err != nil {
				if a.ctx.Err() != nil {
					return nil
				}
				return err
			}
		case <-a.lines:
		case <-a.ctx.Done():
			return nil
		}
	}
}

// sendRound sends messages tag:0 to tag:n-1 to to, keeping up to window
// sends in flight on the peer's one connection, and returns how many were
// acked and the first error. With a window of 1 each send waits for the
// ack of the one before. A larger window is what a client with a backlog
// does: the broker takes every send in flight into the same commit. It
// returns how many sends were acked, the most that were in flight at once,
// and the first error.
func sendRound(ctx context.Context, p *election.Peer, to, tag string, n, window int) (acked, peak int, firstErr string) {
	var (
		next, done, inFlight, most atomic.Int64
		mu                         sync.Mutex
		wg                         sync.WaitGroup
	)
	for range min(window, n) {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				now := inFlight.Add(1)
				for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
				}
				_, err := p.Send(ctx, to, content(tag+":"+strconv.FormatInt(i, 10)))
				inFlight.Add(-1)
				if err != nil {
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return int(done.Load()), int(most.Load()), firstErr
}
