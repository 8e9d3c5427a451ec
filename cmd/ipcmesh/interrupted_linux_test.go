package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestInterruptedOnItsWaySaysItMayBeStored: a send, broadcast or share
// interrupted (Ctrl-C, SIGTERM) while its request waits in the broker's
// socket may be stored all the same: a broker that reads it before the
// command has gone carries it out whether or not anyone waits for its
// answer. The command says it was interrupted, that it may have been
// stored, and how to send it again so that it is stored once (send
// --lines: that the lines after it were not sent); run so,
// however often, it is, whether the first was stored or not (here the
// broker goes on only once the command has gone). Before, it said only
// "context canceled".
func TestInterruptedOnItsWaySaysItMayBeStored(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })
	for _, name := range []string{"bob", "carol", "alice"} {
		m.mustRun("register", name)
	}
	// Longer than any frame of the handshake or of a resume: the frame
	// that holds it is the request.
	text := strings.Repeat("deploy done. ", 500)
	anID := regexp.MustCompile(`--id ([0-9a-f]{32})\b`)

	t.Run("send", func(t *testing.T) {
		msg := interruptOnItsWay(t, m, broker, len(text), nil, "send", "--as", "alice", "bob", text)
		want := "ipcmesh send: interrupted while the message was on its way to the broker: it may have been stored; to be sure it goes, run the command again with --id "
		if !strings.HasPrefix(msg, want) {
			t.Fatalf("an interrupted send said %q; want it to begin %q", msg, want)
		}
		id := anID.FindStringSubmatch(msg)
		if id == nil {
			t.Fatalf("an interrupted send: %q names no --id to send it again with", msg)
		}
		for range 2 {
			m.mustRun("send", "--as", "alice", "--id", id[1], "bob", text)
		}
		if got := m.check("--as", "bob").Messages; len(got) != 1 || got[0].ID != id[1] || got[0].Content != text {
			t.Errorf("bob's mail after the send was run again twice with its id: %d messages (%+v), want the message once, under %s", len(got), got, id[1])
		}
	})

	t.Run("broadcast", func(t *testing.T) {
		msg := interruptOnItsWay(t, m, broker, len(text), nil, "broadcast", "--as", "alice", text)
		want := "ipcmesh broadcast: interrupted while the broadcast was on its way to the broker: it may have been stored; to be sure it goes, run the command again with --id "
		if !strings.HasPrefix(msg, want) {
			t.Fatalf("an interrupted broadcast said %q; want it to begin %q", msg, want)
		}
		id := anID.FindStringSubmatch(msg)
		if id == nil {
			t.Fatalf("an interrupted broadcast: %q names no --id to send it again with", msg)
		}
		for range 2 {
			m.mustRun("broadcast", "--as", "alice", "--id", id[1], text)
		}
		for _, name := range []string{"bob", "carol"} {
			if got := m.check("--as", name).Messages; len(got) != 1 || got[0].ID != id[1]+"."+name {
				t.Errorf("%s's mail after the broadcast was run again twice with its id: %d messages (%+v), want its copy once, under %s.%s", name, len(got), got, id[1], name)
			}
		}
	})

	t.Run("send with --id", func(t *testing.T) {
		const id = "deploy-4711"
		msg := interruptOnItsWay(t, m, broker, len(text), nil, "send", "--as", "alice", "--id", id, "bob", text)
		want := "ipcmesh send: interrupted while the message was on its way to the broker: it may have been stored; to be sure it goes, run the same command again: its --id stores it once"
		if msg != want {
			t.Fatalf("an interrupted send with --id said %q; want %q", msg, want)
		}
		m.mustRun("send", "--as", "alice", "--id", id, "bob", text)
		if got := m.check("--as", "bob").Messages; len(got) != 1 || got[0].ID != id {
			t.Errorf("bob's mail after the send was run again: %d messages (%+v), want the message once, under %s", len(got), got, id)
		}
	})

	t.Run("send --lines", func(t *testing.T) {
		// Line 1 goes and is answered; the interrupt comes once line 2,
		// the long one, waits in the broker's socket.
		stdin := "first line\n" + text + "\nthird line\n"
		msg := interruptOnItsWay(t, m, broker, len(text), strings.NewReader(stdin), "send", "--as", "alice", "--lines", "bob", "-")
		want := "ipcmesh send: interrupted while line 2 was on its way to the broker: it may have been stored; the lines after it were not sent (1 message sent before it)"
		if msg != want {
			t.Fatalf("send --lines interrupted on line 2 said %q; want %q", msg, want)
		}
		got := m.check("--as", "bob").Messages
		if len(got) == 0 || got[0].Content != "first line" {
			t.Fatalf("bob's mail after send --lines was interrupted on line 2: %+v; want line 1 first", got)
		}
		for _, msg := range got {
			if msg.Content == "third line" {
				t.Errorf("bob got line 3, which the interrupted send --lines said it did not send")
			}
		}
	})

	t.Run("share", func(t *testing.T) {
		msg := interruptOnItsWay(t, m, broker, len(text), strings.NewReader(text), "share", "--as", "alice", "notes", "-")
		want := `ipcmesh share: interrupted while the content for "notes" was on its way to the broker: it may have been stored; to be sure it is stored, run the same command again: a share replaces what the key holds (ipcmesh get notes shows what it holds now)`
		if msg != want {
			t.Fatalf("an interrupted share said %q; want %q", msg, want)
		}
		m.runIn(text, "share", "--as", "alice", "notes", "-")
		if got := m.mustRun("get", "notes").stdout; got != text {
			t.Errorf("get notes after the share was run again: %d bytes, want the %d shared", len(got), len(text))
		}
	})
}

// TestInterruptedWhileJoiningSaysNothingWasSent: a send interrupted while
// it joins the mesh, its hello waiting in the socket of a stopped broker,
// has sent nothing, and says so.
func TestInterruptedWhileJoiningSaysNothingWasSent(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	t.Cleanup(func() { broker.cmd.Process.Signal(syscall.SIGCONT) })
	m.mustRun("register", "bob")
	m.mustRun("register", "alice")

	testbin.Stop(t, broker.pid(), runTimeout)
	send := m.start(nil, "send", "--as", "alice", "bob", "deploy done")
	testbin.Eventually(t, runTimeout, "the hello to wait in the stopped broker's socket", func() bool {
		atBroker, _ := unread(t, m.port, send.pid())
		return atBroker > 0
	})
	msg := interrupted(t, send)
	if want := "ipcmesh send: interrupted while joining the mesh: nothing was sent"; msg != want {
		t.Errorf("a send interrupted while joining said %q; want %q", msg, want)
	}
	if err := broker.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if got := m.check("--as", "bob").Messages; len(got) != 0 {
		t.Errorf("bob's mail after a send interrupted while joining: %+v, want none", got)
	}
}

// interruptOnItsWay runs ipcmesh with args, which sends a request of at
// least size bytes, while the broker is stopped, and interrupts it once
// that request waits unread in the broker's socket; the broker goes on
// again after. It returns the command's error, a line.
//
// The command's handshake and resume need the broker, so the two take
// turns: while the command waits for an answer, it is stopped and the
// broker goes on until its answer waits in the command's socket, and
// then the broker is stopped and the command goes on until it has
// written what comes next. Each is stopped whenever it would read what
// the other wrote, so the request is written, and not read, when the
// interrupt comes.
func interruptOnItsWay(t *testing.T, m *mesh, broker *proc, size int, stdin io.Reader, args ...string) string {
	t.Helper()
	testbin.Stop(t, broker.pid(), runTimeout)
	p := m.start(stdin, args...)
	for {
		atBroker := 0
		testbin.Eventually(t, runTimeout, "the command to write to the stopped broker", func() bool {
			atBroker, _ = unread(t, m.port, p.pid())
			return atBroker > 0
		})
		if atBroker >= size {
			break
		}
		testbin.Stop(t, p.pid(), runTimeout)
		goOn(t, broker.pid())
		testbin.Eventually(t, runTimeout, "the broker's answer to wait in the stopped command's socket", func() bool {
			_, atPeer := unread(t, m.port, p.pid())
			return atPeer > 0
		})
		testbin.Stop(t, broker.pid(), runTimeout)
		goOn(t, p.pid())
	}
	msg := interrupted(t, p)
	goOn(t, broker.pid())
	return msg
}

// interrupted interrupts p as Ctrl-C does and returns its error, a line.
// It must end as Ctrl-C ends a command, having said why on stderr.
func interrupted(t *testing.T, p *proc) string {
	t.Helper()
	p.interrupt()
	p.wait(runTimeout)
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("%s ended with %v after Ctrl-C, want killed by SIGINT", p.label, p.cmd.ProcessState)
	}
	msg := strings.TrimRight(p.stderr.String(), "\n")
	if msg == "" || strings.Contains(msg, "\n") {
		t.Fatalf("%s interrupted: want a one-line error on stderr, got %q", p.label, msg)
	}
	return msg
}

// goOn lets the stopped process pid go on.
func goOn(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatalf("let pid %d go on: %v", pid, err)
	}
}

// unread returns how many bytes the connections of process pid to the
// broker on port hold unread, at the broker's end and at pid's, as Linux's
// /proc/net/tcp says.
func unread(t *testing.T, port, pid int) (atBroker, atPeer int) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp to watch the broker's socket: %v", err)
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("the open files of pid %d: %v", pid, err)
	}
	sockets := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); err == nil && ok {
			sockets[strings.TrimSuffix(inode, "]")] = true
		}
	}
	broker := fmt.Sprintf("0100007F:%04X", port)
	type entry struct {
		local, remote, inode string
		rx                   int
	}
	var entries []entry
	for _, line := range strings.Split(string(b), "\n") {
		// sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "01" {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		n, err := strconv.ParseUint(rx, 16, 32)
		if err != nil {
			t.Fatalf("/proc/net/tcp: rx_queue %q: %v", rx, err)
		}
		entries = append(entries, entry{f[1], f[2], f[9], int(n)})
	}
	mine := map[string]bool{}
	for _, e := range entries {
		if e.remote == broker && sockets[e.inode] {
			mine[e.local] = true
			atPeer += e.rx
		}
	}
	for _, e := range entries {
		if e.local == broker && mine[e.remote] {
			atBroker += e.rx
		}
	}
	return atBroker, atPeer
}
