package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/freeport"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// runDemo shows a newcomer the mesh at work in one command: a broker in its
// own process, two instances, a push, a large message, a rename, a kill -9
// of the broker, a typo. Everything lives in a temporary folder on a free
// port, so the user's real mesh is never touched.
func runDemo(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("demo")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("demo")(pos); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ipcmesh-demo-")
	if err != nil {
		return fmt.Errorf("make the demo's temporary folder in %s: %w: set %s to a folder you can write to", os.TempDir(), err, tempDirVar(runtime.GOOS))
	}
	defer func() {
		os.RemoveAll(dir)
		// Ctrl-C ends whichever step runs with that step's own words
		// ("context canceled", or a broker that did not start for no
		// reason told): the user needs to hear only that it stopped,
		// and that nothing of it is left.
		if err != nil && ctx.Err() != nil {
			err = errors.New("interrupted: the demo's broker is stopped and its temporary folder removed")
		}
	}()
	// Output nobody reads any more (ipcmesh demo | head -3) ends the
	// demo through its cleanup: by default the runtime ends a program
	// whose write to stdout finds the pipe closed at once, which left
	// the demo's broker, run in the foreground and never idle, serving
	// for good, and its temporary folder behind. Asked for, SIGPIPE
	// makes that write fail instead, and the demo stops at the failure.
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	d, err := newDemo(e, dir)
	if err != nil {
		return err
	}
	d.say("ipcmesh demo: a private mesh on 127.0.0.1:%s in a temporary folder (your own mesh is not touched)", d.getenv("IPC_PORT"))

	d.step("Start a dedicated broker in its own process (ipcmesh broker)")
	if d.werr != nil {
		return d.werr
	}
	if d.broker, err = d.startBroker(ctx); err != nil {
		return err
	}
	defer func() {
		d.broker.Process.Kill()
		d.broker.Wait()
	}()
	d.say("   broker pid %d is serving", d.broker.Process.Pid)

	d.step("Two assistants join as clients: builder and reviewer")
	defer d.leave()
	if err := d.joinBoth(ctx); err != nil {
		return err
	}
	if d.werr != nil {
		return d.werr
	}

	steps := []struct {
		title string
		run   func(context.Context) error
	}{
		{`builder: "msg reviewer: please check auth.go"`, d.sendAndPush},
		{"builder sends a 40 KiB design document: large bodies spill to a file", d.sendLarge},
		{`reviewer: "rename to reviewer-2"; builder still writes to "reviewer"`, d.renameReviewer},
		{killStep(runtime.GOOS), d.failover},
		{`builder mistypes: "msg reveiwer-2: ..."`, d.mistype},
	}
	for _, s := range steps {
		d.step(s.title)
		if err := s.run(ctx); err != nil {
			return err
		}
		if d.werr != nil {
			return d.werr
		}
	}

	d.step("A person joins over HTTP (ipcmesh serve --http), with a key")
	stopHTTP, err := d.demoHTTP(ctx, d.builder)
	if err != nil {
		return err
	}
	defer stopHTTP()

	d.step(`"who's online?"`)
	if err := d.whoIsOnline(ctx); err != nil {
		return err
	}
	// The next step is the README's Quick start: a name per terminal,
	// with --as, which every shell takes (IPC_NAME=... cmd is sh's).
	// Registered in each, the names would share one default, the one
	// registered last, and the first terminal would act as the second.
	d.say("\nDone. Next, on your own mesh, one name per terminal (README.md, Quick start):")
	d.say("   terminal 1: ipcmesh send --as builder reviewer \"please check auth.go\"")
	d.say("   terminal 2: ipcmesh check --as reviewer --wait 30s")
	return d.werr
}

// tempDirVar names the variable that picks the temporary folder on goos,
// as os.TempDir reads it: Windows takes TMP first, the others TMPDIR.
func tempDirVar(goos string) string {
	if goos == "windows" {
		return "TMP"
	}
	return "TMPDIR"
}

// demo is one run of the demo: where it writes, the private mesh it runs,
// and, once started and joined, its broker process and its two assistants.
type demo struct {
	w      io.Writer
	getenv func(string) string
	n      int // the steps shown so far
	// werr is the first write to w that failed: the demo stops at the
	// end of the step that made it.
	werr error

	broker            *exec.Cmd
	builder, reviewer *election.Peer
	// pushes are the messages pushed to reviewer.
	pushes chan ipcmesh.Message
}

// newDemo makes a demo whose mesh lives in dir on a free port.
func newDemo(e Env, dir string) (*demo, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	vars := map[string]string{
		"IPC_HOST":     "127.0.0.1",
		"IPC_PORT":     strconv.Itoa(port),
		"IPC_DATA_DIR": dir,
		"IPC_LOG":      e.Getenv("IPC_LOG"),
	}
	return &demo{w: e.Stdout, getenv: func(k string) string { return vars[k] }}, nil
}

// joinBoth joins builder, and reviewer, whose pushed mail goes to pushes.
func (d *demo) joinBoth(ctx context.Context) (err error) {
	d.pushes = make(chan ipcmesh.Message, 16)
	if d.builder, err = d.join(ctx, "builder", nil); err != nil {
		return err
	}
	d.reviewer, err = d.join(ctx, "reviewer", func(ev ipc.Event) {
		var m ipcmesh.Message
		if ev.Name == ipc.EventMessage && json.Unmarshal(ev.Body, &m) == nil {
			d.pushes <- m
		}
	})
	return err
}

// leave closes the assistants that joined, the last first.
func (d *demo) leave() {
	if d.reviewer != nil {
		d.reviewer.Close()
	}
	if d.builder != nil {
		d.builder.Close()
	}
}

// sendAndPush sends reviewer a message, which is pushed to it at once.
func (d *demo) sendAndPush(ctx context.Context) error {
	r, err := d.builder.Send(ctx, "reviewer", "please check auth.go")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))
	if m, ok := awaitPush(d.pushes); ok {
		d.say("   reviewer is pushed at once: %s: %q", m.From, m.Content)
	}
	return d.read(ctx, d.reviewer, "reviewer")
}

// sendLarge sends a body over the large-message size: reviewer gets a
// summary and a file, and fetch gives the whole body back.
func (d *demo) sendLarge(ctx context.Context) error {
	big := strings.Repeat("The session layer binds every op to the caller's token. ", 730)
	if _, err := d.builder.Send(ctx, "reviewer", big); err != nil {
		return err
	}
	awaitPush(d.pushes)
	c, err := d.reviewer.Check(ctx, 10, 0)
	if err != nil {
		return err
	}
	for _, m := range c.Messages {
		d.say("   reviewer sees a summary: %q", truncate(m.Content, 60))
		d.say("   and the file %s (%s)", m.Path, human.Size(m.Size))
		f, err := d.reviewer.Fetch(ctx, m.ID)
		if err != nil {
			return err
		}
		d.say("   fetch by id returns all %d bytes intact: %v", len(f.Content), f.Content == big)
	}
	return ackAll(ctx, d.reviewer, c.Messages)
}

// renameReviewer renames reviewer, and mail to the old name is forwarded.
func (d *demo) renameReviewer(ctx context.Context) error {
	if _, err := d.reviewer.Rename(ctx, "reviewer-2"); err != nil {
		return err
	}
	r, err := d.builder.Send(ctx, "reviewer", "LGTM? (sent to the old name)")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))
	awaitPush(d.pushes)
	return d.read(ctx, d.reviewer, "reviewer-2")
}

// failover kills the broker process and times the send that follows: one
// of the assistants' processes takes over.
// killStep names the failover step as a user of goos would kill a
// process: Process.Kill is SIGKILL on Unix and TerminateProcess on
// Windows, which has no kill -9.
func killStep(goos string) string {
	if goos == "windows" {
		return "end the broker process (taskkill /F); builder sends at once"
	}
	return "kill -9 the broker process; builder sends at once"
}

func (d *demo) failover(ctx context.Context) error {
	if err := d.broker.Process.Kill(); err != nil {
		return fmt.Errorf("kill the broker: %w", err)
	}
	d.broker.Wait()
	start := time.Now()
	if _, err := d.builder.Send(ctx, "reviewer-2", "this one crossed a failover"); err != nil {
		return err
	}
	took := time.Since(start)
	who := "reviewer-2"
	if d.builder.IsBroker() {
		who = "builder"
	}
	d.say("   %s's process took over as broker; the send was acked %s after the kill", who, took.Round(time.Millisecond))
	awaitPush(d.pushes)
	return d.read(ctx, d.reviewer, "reviewer-2")
}

// mistype sends to a name nobody has: the message is queued and the name
// meant suggested.
func (d *demo) mistype(ctx context.Context) error {
	r, err := d.builder.Send(ctx, "reveiwer-2", "typo test")
	if err != nil {
		return err
	}
	d.say("   builder sees: %s", describeSend(r))
	return nil
}

// whoIsOnline lists the instances, as list does.
func (d *demo) whoIsOnline(ctx context.Context) error {
	insts, err := d.builder.List(ctx)
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
	return nil
}

func (d *demo) say(format string, args ...any) { d.write(format+"\n", args...) }

func (d *demo) step(title string) {
	d.n++
	d.write("\n%d. %s\n", d.n, title)
}

// write prints to the demo's output, keeping the first error.
func (d *demo) write(format string, args ...any) {
	if d.werr != nil {
		return
	}
	if _, err := fmt.Fprintf(d.w, format, args...); err != nil {
		d.werr = err
	}
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
	tieToDemo(cmd)
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

// freePort picks the demo mesh's port, which its next broker binds again
// after the first one stops (freeport).
func freePort() (int, error) {
	ports, err := freeport.Pick("127.0.0.1", 1)
	if err != nil {
		return 0, err
	}
	return ports[0], nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
