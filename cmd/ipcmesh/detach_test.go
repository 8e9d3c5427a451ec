//go:build unix

package main

// Tests of where the broker runs: a peer that finds no broker starts a
// detached one, which job control cannot stop; a broker that is stopped
// anyway is named by its pid; and a detached broker goes away by itself.

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/store"
)

// inGroup starts a command in a process group of its own, as a shell does
// with a job, so that the test can stop the job as Ctrl-Z does.
func inGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the process group of p.
func signalGroup(t *testing.T, p *proc, sig syscall.Signal) {
	t.Helper()
	if err := syscall.Kill(-p.pid(), sig); err != nil {
		t.Fatalf("send %v to the process group of %s: %v", sig, p.label, err)
	}
}

// TestSuspendedPeerDoesNotStopTheMesh: the peer that found no broker
// started one, and its job is then stopped as Ctrl-Z stops it. The broker
// is not in that job, so another peer still sends and a third, started
// afterwards, receives the message exactly once.
func TestSuspendedPeerDoesNotStopTheMesh(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	host := m.startWith(inGroup, nil, "watch", "--json", "--as", "first")
	m.mustRun("send", "--as", "second", "first", "are you there?")
	watchMessage(host, "are you there?") // the first peer is in, and the broker serves

	st := m.status()
	if st.Broker.PID == host.pid() {
		t.Fatalf("the first peer (pid %d) hosts the broker in its own process", host.pid())
	}
	if pgid, err := syscall.Getpgid(st.Broker.PID); err != nil || pgid == host.pid() {
		t.Fatalf("the broker (pid %d) is in the first peer's process group (%d, %v): Ctrl-Z would stop it", st.Broker.PID, pgid, err)
	}

	signalGroup(t, host, syscall.SIGSTOP)
	t.Cleanup(func() { syscall.Kill(-host.pid(), syscall.SIGCONT) })

	third := m.start(nil, "watch", "--json", "--as", "third")
	sent := time.Now()
	m.mustRun("send", "--as", "second", "third", "while first is suspended")
	msg := watchMessage(third, "while first is suspended")
	t.Logf("with the broker's first peer suspended, third printed the message %v after the send started", time.Since(sent).Round(time.Millisecond))
	if msg.From != "second" {
		t.Errorf("third got the message from %q, want second", msg.From)
	}
	if r := m.check("--as", "third"); len(r.Messages) != 0 {
		t.Errorf("check after watch printed it: %d messages left, want none (delivered twice?)", len(r.Messages))
	}
	third.interrupt()
	if code := third.wait(runTimeout); code != 0 {
		t.Errorf("third's watch exited with status %d on Ctrl-C", code)
	}
	if n := strings.Count(third.stdout.String(), "while first is suspended"); n != 1 {
		t.Errorf("third printed the message %d times, want once", n)
	}

	// The first peer resumes where it was.
	signalGroup(t, host, syscall.SIGCONT)
	m.mustRun("send", "--as", "second", "first", "welcome back")
	watchMessage(host, "welcome back")
}

// TestStoppedBrokerIsNamed: a dedicated broker stopped as Ctrl-Z stops it
// still holds the port. A new command's error and a running assistant's
// tool results name its pid and say what to do, within the time they
// state; once it resumes, mail flows, with nothing lost or duplicated.
func TestStoppedBrokerIsNamed(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("send", "--as", "alice", "bob", "before")
	assistant := m.registeredAssistant(t, "carol")

	testbin.Stop(t, broker.cmd.Process.Pid, runTimeout)
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })

	wantPID := fmt.Sprintf("pid %d", broker.pid())
	mentions := func(what, msg string) {
		t.Helper()
		for _, want := range []string{wantPID, "not answering", "stopped (Ctrl-Z)", "resume it", "kill it"} {
			if !strings.Contains(msg, want) && !(want == "not answering" && strings.Contains(msg, "did not answer")) {
				t.Errorf("%s against a stopped broker: %q does not say %q", what, msg, want)
			}
		}
	}

	// The assistant's calls, on a connection made before the stop, give
	// up in their stated time: the send 10 s after it was due, the check
	// 10 s after its wait.
	type outcome struct {
		text  string
		isErr bool
		took  time.Duration
	}
	calls := map[string]chan outcome{"send": make(chan outcome, 1), "check": make(chan outcome, 1)}
	for tool, args := range map[string]map[string]any{
		"send":  {"to": "bob", "content": "during (mcp)"},
		"check": {"wait_seconds": 1},
	} {
		go func() {
			start := time.Now()
			text, isErr := assistantCall(t, assistant, tool, args)
			calls[tool] <- outcome{text, isErr, time.Since(start)}
		}()
	}

	msg := m.mustFail("send", "--as", "alice", "bob", "during")
	mentions("a new send", msg)
	// A compact, which a broker's stop hands over, says what it asks of
	// the broker, not that it is done, and then that the broker does not
	// answer.
	r := m.run("compact")
	if r.code != 1 || strings.Contains(r.stderr, "it is stopped,") {
		t.Errorf("compact against a stopped broker: exit %d, stderr %q; want 1, and no word that the broker is stopped for it", r.code, r.stderr)
	}
	mentions("compact", r.stderr)

	for tool, ch := range calls {
		select {
		case o := <-ch:
			t.Logf("MCP %s against the stopped broker returned after %v", tool, o.took.Round(100*time.Millisecond))
			if !o.isErr {
				t.Errorf("MCP %s against a stopped broker succeeded: %q", tool, o.text)
			}
			mentions("MCP "+tool, o.text)
		case <-time.After(runTimeout):
			t.Fatalf("MCP %s against a stopped broker did not return within %v", tool, runTimeout)
		}
	}

	if err := broker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	m.mustRun("send", "--as", "alice", "bob", "after")
	got := m.check("--as", "bob")
	var contents []string
	for _, msg := range got.Messages {
		contents = append(contents, msg.Content)
	}
	// The MCP send may or may not have been carried out: the broker read
	// it before it was stopped or after it resumed, but never twice.
	want := map[string]bool{"before": true, "after": true, "during (mcp)": true}
	seen := map[string]int{}
	for _, c := range contents {
		seen[c]++
		if !want[c] || seen[c] > 1 {
			t.Errorf("bob's mail after the broker resumed is %q: want before, after and at most one MCP send, once each", contents)
			break
		}
	}
	if seen["before"] != 1 || seen["after"] != 1 {
		t.Errorf("bob's mail after the broker resumed is %q: before or after is missing", contents)
	}
}

// TestStoppedBrokerGoesAsAdvised: the error that names a stopped broker
// says how to kill it, and a user who runs that command as written has
// the mesh back: a stopped process does not act on SIGTERM until it is
// resumed, so the advice must be one that ends it while it is stopped.
func TestStoppedBrokerGoesAsAdvised(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("send", "--as", "alice", "bob", "before")
	testbin.Stop(t, broker.cmd.Process.Pid, runTimeout)
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })

	msg := m.mustFail("send", "--as", "alice", "bob", "during")
	advice := regexp.MustCompile(`kill it \((kill [^)]*)\)`).FindStringSubmatch(msg)
	if advice == nil {
		t.Fatalf("the error against a stopped broker says no command to kill it: %q", msg)
	}
	if out, err := exec.Command("sh", "-c", advice[1]).CombinedOutput(); err != nil {
		t.Fatalf("the advised %q failed: %v %s", advice[1], err, out)
	}

	m.mustRun("send", "--as", "alice", "bob", "after")
	var contents []string
	for _, msg := range m.check("--as", "bob").Messages {
		contents = append(contents, msg.Content)
	}
	if strings.Join(contents, "|") != "before|after" {
		t.Errorf("after %q bob's mail is %q, want before and after", advice[1], contents)
	}
}

// TestUnansweredLineMayStillGo: send --lines whose broker is stopped
// after the first line gives up on the second. The error says that line
// may still go once the broker resumes (a broker stalled on its disk
// stores it after the sender gave up), and that the lines after it were
// not sent: whoever sends the rest again starts after that line, rather
// than send the first ones twice.
func TestUnansweredLineMayStillGo(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "bob")
	m.mustRun("register", "alice")
	stdin, lines := io.Pipe()
	defer lines.Close()
	send := m.start(stdin, "send", "--as", "alice", "--lines", "--json", "bob", "-")
	io.WriteString(lines, "one\n")
	send.waitLine(send.stdout, `"content": "one"`, runTimeout)

	testbin.Stop(t, broker.cmd.Process.Pid, runTimeout)
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })
	io.WriteString(lines, "two\nthree\n")
	lines.Close()
	if code := send.wait(runTimeout); code != 1 {
		t.Fatalf("send --lines against a broker stopped after its first line exited %d, want 1", code)
	}
	for _, want := range []string{"line 2:", "did not answer", "line 2 may still go", "lines after it were not sent", "1 message sent before it"} {
		if !strings.Contains(send.stderr.String(), want) {
			t.Errorf("the error of a line the stopped broker did not answer: %q does not say %q", send.stderr.String(), want)
		}
	}

	if err := broker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	var contents []string
	for _, msg := range m.check("--as", "bob").Messages {
		contents = append(contents, msg.Content)
	}
	if got := strings.Join(contents, "|"); got != "one" && got != "one|two" {
		t.Errorf("bob's mail after the broker resumed is %q, want one, and two at most once: the lines after the one it did not answer were not sent", contents)
	}
}

// TestDetachedBrokerStopsWhenIdle: a detached broker with no peer left
// stops by itself after IPC_BROKER_IDLE, frees the port and leaves neither
// its record nor the store's lock behind.
func TestDetachedBrokerStopsWhenIdle(t *testing.T) {
	t.Parallel()
	// Idle for long enough that the broker's record is read before it
	// stops on a loaded machine; with 500 ms it was at times gone first.
	m := newMesh(t).withEnv("IPC_BROKER_IDLE=2s")
	m.mustRun("send", "--as", "a", "b", "kept")
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("the send started no detached broker")
	}
	// The broker is not this test's child: nothing announces its exit.
	testbin.Eventually(t, runTimeout, "the idle detached broker to exit", func() bool { return !testbin.Alive(pid) })
	if !portFree(t, m.port) {
		t.Errorf("port %d is still bound after the idle broker exited", m.port)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "broker.json")); err == nil {
		t.Errorf("the idle broker left its record behind")
	}
	st, err := store.Open(store.Options{Dir: m.dir, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("open the store after the idle broker exited: %v", err)
	}
	st.Close()
	log, err := os.ReadFile(filepath.Join(m.dir, "broker.log"))
	if err != nil || !strings.Contains(string(log), "no peer for 2s") {
		t.Errorf("the broker's log does not say it stopped for want of peers (%v):\n%s", err, log)
	}
	if r := m.check("--as", "b"); len(r.Messages) != 1 || r.Messages[0].Content != "kept" {
		t.Errorf("after the idle stop, b's mail is %+v, want the one message kept", r.Messages)
	}
}

// TestStatusSaysWhenItsBrokerStops: status that started a detached
// broker says after how long without a peer it stops: the IPC_BROKER_IDLE
// it was started with, not the default, which a user who set it would
// take for the setting ignored.
func TestStatusSaysWhenItsBrokerStops(t *testing.T) {
	t.Parallel()
	for env, want := range map[string]string{
		"IPC_BROKER_IDLE=90m": "connected for 1h30m (IPC_BROKER_IDLE)",
		"IPC_BROKER_IDLE=":    "connected for 10m (IPC_BROKER_IDLE)", // unset: the default
	} {
		r := newMesh(t).withEnv(env).mustRun("status")
		if !strings.Contains(r.stdout, want) {
			t.Errorf("%s ipcmesh status:\n%s\nwant it to say %q", env, r.stdout, want)
		}
	}
}

// TestRenamedBinaryStartsADetachedBroker: the ipcmesh program under
// another file name (a release's file, an ipcmesh-dev beside the
// installed one) starts a detached broker as ipcmesh does, rather than
// hosting one for each command's run only.
func TestRenamedBinaryStartsADetachedBroker(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	exe, err := os.ReadFile(ipcmeshBin)
	if err != nil {
		t.Fatal(err)
	}
	dev := filepath.Join(t.TempDir(), "ipcmesh-dev")
	if err := os.WriteFile(dev, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, m.environ(), strings.NewReader(""), func(cmd *exec.Cmd) { cmd.Path, cmd.Args[0] = dev, dev }, "send", "--as", "a", "b", "hi")
	if code := p.wait(runTimeout); code != 0 {
		t.Fatalf("ipcmesh-dev send: exit %d\n%s", code, p.stderr.String())
	}
	if _, ok := testbin.DetachedBroker(m.dir); !ok {
		t.Fatal("ipcmesh-dev's send started no detached broker")
	}
	if r := m.check("--as", "b"); len(r.Messages) != 1 || r.Messages[0].Content != "hi" {
		t.Errorf("b's mail: %+v, want the one message", r.Messages)
	}
}
