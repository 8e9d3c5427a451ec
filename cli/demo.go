package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// runDemo shows a newcomer the mesh at work in one command: a broker in its
// own process, two instances, a push, a large message, a rename, a kill -9
// of the broker, a typo. Everything lives in a temporary folder on a free
// port, so the user's real mesh is never touched.
func runDemo(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("demo")
	if _, err := parse(fs, args, -1); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ipcmesh-demo-")
	if err != nil {
		return fmt.Errorf("make a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	port, err := freePort()
	if err != nil {
		return err
	}
	vars := map[string]string{
		"IPC_HOST":     "127.0.0.1",
		"IPC_PORT":     strconv.Itoa(port),
		"IPC_DATA_DIR": dir,
		"IPC_LOG":      e.Getenv("IPC_LOG"),
	}
	d := &demo{w: e.Stdout, getenv: func(k string) string { return vars[k] }}
	d.say("ipcmesh demo: a private mesh on 127.0.0.1:%d in a temporary folder (your own mesh is not touched)", port)

	d.step("Start a dedicated broker in its own process (ipcmesh broker)")
	broker, err := d.startBroker(ctx)
	if err != nil {
		return err
	}
	defer func() {
		broker.Process.Kill()
		broker.Wait()
	}()
	d.say("   broker pid %d is serving", broker.Process.Pid)

	d.step("Two assistants join as clients: builder and reviewer")
	pushes := make(chan ipcmesh.Message, 16)
	builder, err := d.join(ctx, "builder", nil)
	if err != nil {
		return err
	}
	defer builder.Close()
	reviewer, err := d.join(ctx, "reviewer", func(ev ipc.Event) {
		var m ipcmesh.Message
		if ev.Name == ipc.EventMessage && json.Unmarshal(ev.Body, &m) == nil {
			pushes <- m
		}
	})
	if err != nil {
		return err
	}
	defer reviewer.Close()

	d.step(`builder: "msg reviewer: please check auth.go"`)
	r, err := builder.Send(ctx, "reviewer", "please check auth.go")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))
	if m, ok := awaitPush(pushes); ok {
		d.say("   reviewer is pushed at once: %s: %q", m.From, m.Content)
	}
	if err := d.read(ctx, reviewer, "reviewer"); err != nil {
		return err
	}

	d.step("builder sends a 40 KiB design document: large bodies spill to a file")
	big := strings.Repeat("The session layer binds every op to the caller's token. ", 730)
	if _, err := builder.Send(ctx, "reviewer", big); err != nil {
		return err
	}
	awaitPush(pushes)
	c, err := reviewer.Check(ctx, 10, 0)
	if err != nil {
		return err
	}
	for _, m := range c.Messages {
		d.say("   reviewer sees a summary: %q", truncate(m.Content, 60))
		d.say("   and the file %s (%s)", m.Path, human.Size(m.Size))
		f, err := reviewer.Fetch(ctx, m.ID)
		if err != nil {
			return err
		}
		d.say("   fetch by id returns all %d bytes intact: %v", len(f.Content), f.Content == big)
	}
	if err := ackAll(ctx, reviewer, c.Messages); err != nil {
		return err
	}

	d.step(`reviewer: "rename to reviewer-2"; builder still writes to "reviewer"`)
	if _, err := reviewer.Rename(ctx, "reviewer-2"); err != nil {
		return err
	}
	r, err = builder.Send(ctx, "reviewer", "LGTM? (sent to the old name)")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))
	awaitPush(pushes)
	if err := d.read(ctx, reviewer, "reviewer-2"); err != nil {
		return err
	}

	d.step("kill -9 the broker process; builder sends at once")
	if err := broker.Process.Kill(); err != nil {
		return fmt.Errorf("kill the broker: %w", err)
	}
	broker.Wait()
	start := time.Now()
	_, err = builder.Send(ctx, "reviewer-2", "this one crossed a failover")
	if err != nil {
		return err
	}
	took := time.Since(start)
	who := "reviewer-2"
	if builder.IsBroker() {
		who = "builder"
	}
	d.say("   %s's process took over as broker; the send was acked %s after the kill", who, took.Round(time.Millisecond))
	awaitPush(pushes)
	if err := d.read(ctx, reviewer, "reviewer-2"); err != nil {
		return err
	}

	d.step(`builder mistypes: "msg reveiwer-2: ..."`)
	r, err = builder.Send(ctx, "reveiwer-2", "typo test")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))

	d.step("A person joins over HTTP (ipcmesh serve --http), with a key")
	stopHTTP, err := d.demoHTTP(ctx, builder)
	if err != nil {
		return err
	}
	defer stopHTTP()

	d.step(`"who's online?"`)
	insts, err := builder.List(ctx)
	if err != nil {
		return err
	}
	for _, in := range insts {
		state := "offline"
		if in.Online {
			state = "online"
		}
		d.say("   %-12s %-8s unread %d", in.Name, state, in.Unread)
	}
	d.say("\nDone. Next: ipcmesh register NAME, ipcmesh send TO MESSAGE, ipcmesh check (see README.md).")
	return nil
}

type demo struct {
	w      io.Writer
	getenv func(string) string
	n      int
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, format+"\n", args...) }

func (d *demo) step(title string) {
	d.n++
	fmt.Fprintf(d.w, "\n%d. %s\n", d.n, title)
}

// startBroker runs this very program as "ipcmesh broker" and waits for its
// line saying it serves.
func (d *demo) startBroker(ctx context.Context) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find this program to start a broker: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "broker")
	cmd.Env = demoEnviron(d.getenv)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the broker process: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.Contains(line, "serving") {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("the broker process did not start: %s", strings.TrimSpace(stderr.String()+line))
	}
	go io.Copy(io.Discard, out)
	return cmd, nil
}

// demoEnviron is the process environment without the user's IPC_*
// settings, plus the demo's.
func demoEnviron(getenv func(string) string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "IPC_") {
			env = append(env, kv)
		}
	}
	for _, k := range []string{"IPC_HOST", "IPC_PORT", "IPC_DATA_DIR", "IPC_LOG"} {
		if v := getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (d *demo) join(ctx context.Context, name string, onEvent func(ipc.Event)) (*election.Peer, error) {
	e := Env{Stderr: io.Discard, Getenv: d.getenv}
	if d.getenv("IPC_LOG") != "" {
		e.Stderr = os.Stderr
	}
	p, err := join(ctx, e, onEvent != nil, onEvent)
	if err != nil {
		return nil, err
	}
	if _, err := p.Register(ctx, name); err != nil {
		p.Close()
		return nil, err
	}
	role := "client"
	if p.IsBroker() {
		role = "broker"
	}
	d.say("   %s joined as a %s", name, role)
	return p, nil
}

// read checks name's mail, prints it and acks it.
func (d *demo) read(ctx context.Context, p *election.Peer, name string) error {
	c, err := p.Check(ctx, 10, 5*time.Second)
	if err != nil {
		return err
	}
	for _, m := range c.Messages {
		note := ""
		if m.SentTo != "" {
			note = fmt.Sprintf(" (sent to %s, forwarded)", m.SentTo)
		}
		d.say("   %s checks: from %s%s: %q", name, m.From, note, truncate(m.Content, 60))
	}
	return ackAll(ctx, p, c.Messages)
}

// awaitPush waits briefly for a pushed message; the demo goes on without.
func awaitPush(ch <-chan ipcmesh.Message) (ipcmesh.Message, bool) {
	select {
	case m := <-ch:
		return m, true
	case <-time.After(2 * time.Second):
		return ipcmesh.Message{}, false
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
