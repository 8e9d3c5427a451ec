package main

// End-to-end tests: every test runs the real ipcmesh binary as separate
// processes on a private port and data folder, and asserts what a user sees:
// exit statuses, one-line errors on stderr, what is printed on stdout.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// streamOutcome is what a stream of numbered lines across the loss of the
// broker left behind.
type streamOutcome struct {
	broker, sender, receiver *proc // broker is nil when it was detached
	// brokerPID is the pid of the broker that was taken away.
	brokerPID int
	// nextAfterLoss is the time from the broker's loss to the next message
	// the receiver printed.
	nextAfterLoss time.Duration
	// host is the pid of the process that hosted the broker at the end.
	host int
}

// streamAcrossBrokerLoss runs a broker (a dedicated one that start starts
// and returns once it serves, or with start nil the detached one the first
// command starts), a receiver ("watch --json --as reviewer") and a sender
// ("send --lines --as builder reviewer -") fed total numbered lines on
// stdin. Once the receiver has printed a few hundred messages, lose takes
// the broker's process away. It then checks that the sender
// reports every line sent, that the receiver printed every number exactly
// once and in order, and that nothing is left unread or stored twice.
func streamAcrossBrokerLoss(t *testing.T, total int, start func(*mesh) *proc, lose func(m *mesh, brokerPID int)) streamOutcome {
	t.Helper()
	m := newMesh(t)
	var broker *proc
	dedicated := start != nil
	if dedicated {
		broker = start(m)
	}
	m.mustRun("register", "reviewer")
	pid, ok := testbin.DetachedBroker(m.dir)
	if dedicated {
		pid, ok = broker.pid(), true
	}
	if !ok {
		t.Fatalf("register started no detached broker")
	}
	if st := m.status(); st.Broker.PID != pid {
		t.Fatalf("status says pid %d hosts the broker, want %d", st.Broker.PID, pid)
	}
	receiver := m.start(nil, "watch", "--json", "--as", "reviewer")

	var lines strings.Builder
	for i := 1; i <= total; i++ {
		fmt.Fprintf(&lines, "%d\n", i)
	}
	// exec copies the reader into the child's stdin pipe as the child reads.
	sender := m.start(strings.NewReader(lines.String()), "send", "--lines", "--as", "builder", "reviewer", "-")

	const loseAfter = 300
	var (
		lost     bool
		lostAt   time.Time
		lostSeen int // lines printed when the broker was lost
	)
	order, count := readNumbered(t, receiver, sender, total, 3*time.Minute, func(n int) {
		if !lost && n >= loseAfter {
			lostSeen = n
			lostAt = time.Now()
			lose(m, pid)
			lost = true
		}
	})
	if !lost {
		t.Fatalf("the stream ended before the broker could be taken away")
	}
	var out streamOutcome
	out.broker, out.sender, out.receiver, out.brokerPID = broker, sender, receiver, pid
	for i := lostSeen; i < len(order); i++ {
		if at := receiver.stdout.TimeOf(i); at.After(lostAt) {
			out.nextAfterLoss = at.Sub(lostAt)
			break
		}
	}

	if code := sender.wait(runTimeout); code != 0 {
		t.Fatalf("sender exited with status %d, want 0", code)
	}
	if want := fmt.Sprintf("sent %d messages to reviewer", total); !strings.Contains(sender.stdout.String(), want) {
		t.Errorf("sender printed %q, want %q", sender.stdout.String(), want)
	}
	var dups []int
	for num, c := range count {
		if c > 1 {
			dups = append(dups, num)
		}
	}
	sort.Ints(dups)
	if len(dups) > 0 {
		t.Errorf("receiver printed %d numbers more than once, e.g. %v", len(dups), dups[:min(len(dups), 10)])
	}
	for i, num := range order {
		if num != i+1 {
			t.Errorf("message %d printed was number %d: the stream arrived out of order", i+1, num)
			break
		}
	}

	// The receiver acks each batch after printing it; no event tells the
	// test that its last ack is in, so poll the broker's unread count.
	var st ipc.StatusResult
	testbin.Eventually(t, 30*time.Second, "the receiver's acks to leave nothing unread", func() bool {
		st = m.status()
		return counted(st.Unread) == 0
	})
	out.host = st.Broker.PID
	if counted(st.Messages) != total {
		t.Errorf("the store holds %d messages, want %d: a retried send was stored twice or lost", counted(st.Messages), total)
	}
	if left := m.check("--as", "reviewer"); len(left.Messages) != 0 {
		t.Errorf("check after the stream returned %d leftover messages, e.g. %+v", len(left.Messages), left.Messages[0])
	}

	receiver.interrupt()
	if code := receiver.wait(runTimeout); code != 0 && runtime.GOOS != "windows" {
		t.Errorf("the receiver exited with status %d on Ctrl-C, want 0", code)
	}
	if got := len(receiver.stdout.Lines()); got != total {
		t.Errorf("receiver printed %d lines in all, want %d", got, total)
	}
	return out
}

// readNumbered reads the numbered messages from builder to reviewer that
// receiver prints as JSON lines, until total distinct numbers have
// arrived, and returns them in the order printed with how often each was.
// After each batch of lines it calls progress with how many it has read,
// so that a test can take something away mid-stream. It fails the test if
// the receiver prints anything else or exits, if the sender fails, or if
// the stream is not whole within.
func readNumbered(t *testing.T, receiver, sender *proc, total int, within time.Duration, progress func(n int)) (order []int, count map[int]int) {
	t.Helper()
	count = make(map[int]int)
	deadline := time.Now().Add(within)
	for n := 0; len(count) < total; {
		// Wake when the sender exits: one that failed ends the stream, and
		// waiting out the whole deadline for more only delays the report
		// of why. Once it has exited well, wait for the rest.
		senderExit := sender.exited
		if sender.hasExited() {
			senderExit = nil
		}
		batch, closed := receiver.stdout.Next(n, deadline, senderExit)
		for _, l := range batch {
			var msg ipcmesh.Message
			if err := json.Unmarshal([]byte(l), &msg); err != nil {
				t.Fatalf("receiver printed a line that is not a JSON message (%v): %q", err, l)
			}
			num, err := strconv.Atoi(msg.Content)
			if err != nil || msg.From != "builder" || msg.To != "reviewer" {
				t.Fatalf("receiver printed an unexpected message: %q", l)
			}
			order = append(order, num)
			count[num]++
		}
		n += len(batch)
		progress(n)
		if len(count) == total {
			break
		}
		if closed {
			t.Fatalf("receiver exited (status %d) after printing %d messages (%d distinct)", receiver.wait(runTimeout), n, len(count))
		}
		if len(batch) == 0 && sender.hasExited() && sender.code != 0 {
			t.Fatalf("sender exited with status %d after the receiver printed %d messages (%d distinct of %d)", sender.code, n, len(count), total)
		}
		if len(batch) == 0 && time.Now().After(deadline) {
			t.Fatalf("receiver printed %d messages (%d distinct of %d) and no more; sender exited: %v", n, len(count), total, sender.hasExited())
		}
	}
	return order, count
}

// signalPID sends sig to the process pid, which need not be a child.
func signalPID(pid int, sig os.Signal) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Signal(sig)
}

// TestFailoverKill9ExactlyOnce kills the broker's process with kill -9 in
// the middle of a stream, whether it is a dedicated broker or the detached
// one a peer started: every message arrives once, in order.
func TestFailoverKill9ExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		dedicated bool
	}{{"dedicated", true}, {"detached", false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var start func(*mesh) *proc
			if tc.dedicated {
				start = (*mesh).startBroker
			}
			out := streamAcrossBrokerLoss(t, 5000, start, func(_ *mesh, pid int) {
				if err := signalPID(pid, os.Kill); err != nil {
					t.Fatalf("kill -9 the broker: %v", err)
				}
			})
			t.Logf("after kill -9 of the %s broker, the receiver printed its next message %v later; pid %d hosts the broker now", tc.name, out.nextAfterLoss, out.host)
			// Peers may log a warning while they elect the next broker, but
			// neither command may fail or log an error.
			for _, p := range []*proc{out.sender, out.receiver} {
				for _, l := range p.stderr.Lines() {
					if strings.HasPrefix(l, "ipcmesh ") || strings.Contains(l, "level=ERROR") {
						t.Errorf("%s printed an error across the failover: %q", p.label, l)
					}
				}
			}
			if out.host == out.brokerPID {
				t.Errorf("the killed broker (pid %d) still hosts the mesh", out.host)
			}
		})
	}
}

func TestGracefulHandover(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM cannot be sent to another process on windows")
	}
	t.Parallel()
	out := streamAcrossBrokerLoss(t, 2000, (*mesh).startBroker, func(_ *mesh, pid int) {
		if err := signalPID(pid, syscall.SIGTERM); err != nil {
			t.Fatalf("SIGTERM the broker: %v", err)
		}
	})
	t.Logf("after SIGTERM to the broker, the receiver printed its next message %v later", out.nextAfterLoss)
	if code := out.broker.wait(runTimeout); code != 0 {
		t.Errorf("the broker exited with status %d after SIGTERM, want 0", code)
	}
	if !strings.Contains(out.broker.stdout.String(), "handing over and stopping") {
		t.Errorf("the broker did not say it hands over: %q", out.broker.stdout.String())
	}
	for _, p := range []*proc{out.sender, out.receiver} {
		if s := p.stderr.String(); s != "" {
			t.Errorf("%s wrote to stderr during a graceful handover:\n%s", p.label, s)
		}
	}
}

func TestRestartKeepsUnread(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "carol")
	var want []string
	for i := 1; i <= 5; i++ {
		content := fmt.Sprintf("note %d of 5", i)
		r := m.mustRun("send", "--as", "dave", "carol", content)
		if !strings.Contains(r.stdout, "stored for carol (offline") {
			t.Fatalf("send to offline carol printed %q, want it stored for her", r.stdout)
		}
		want = append(want, content)
	}

	// Stop everything. Windows cannot send Ctrl-C to another process, so
	// there the broker is killed, which must keep the mail just as well.
	broker.interrupt()
	code := broker.wait(runTimeout)
	if runtime.GOOS != "windows" {
		if code != 0 || !strings.Contains(broker.stdout.String(), "handing over and stopping") {
			t.Fatalf("the broker did not stop gracefully on Ctrl-C: exit %d, stdout %q", code, broker.stdout.String())
		}
	}
	if !portFree(t, m.port) {
		t.Fatalf("port %d is still served after every process stopped", m.port)
	}

	// Fresh processes on the same data folder.
	fresh := m.startBroker()
	if st := m.status(); st.Broker.PID != fresh.pid() || counted(st.Unread) != len(want) {
		t.Fatalf("after the restart status says pid %d with %d unread, want pid %d with %d unread", st.Broker.PID, counted(st.Unread), fresh.pid(), len(want))
	}
	expect := func(what string, r ipc.CheckResult, want []string) {
		t.Helper()
		var got []string
		for i, m := range r.Messages {
			got = append(got, m.Content)
			if m.From != "dave" || m.To != "carol" {
				t.Errorf("%s: message %d is from %q to %q, want dave to carol", what, i, m.From, m.To)
			}
			if i > 0 && m.Seq <= r.Messages[i-1].Seq {
				t.Errorf("%s: message %d has seq %d after seq %d: not oldest first", what, i, m.Seq, r.Messages[i-1].Seq)
			}
		}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("%s returned %q, want %q in this order", what, got, want)
		}
	}
	expect("check --peek", m.check("--peek", "--as", "carol"), want)
	expect("a second check --peek", m.check("--peek", "--as", "carol"), want)
	expect("check", m.check("--as", "carol"), want)
	expect("a check after check", m.check("--as", "carol"), nil)
	if r := m.mustRun("check", "--as", "carol"); strings.TrimSpace(r.stdout) != "No new messages for carol." {
		t.Errorf("check with nothing unread printed %q, want \"No new messages for carol.\"", r.stdout)
	}
	// A wait that ends without mail says that it waited.
	if r := m.mustRun("check", "--as", "carol", "--wait", "100ms"); strings.TrimSpace(r.stdout) != "No new messages for carol (waited 100ms)." {
		t.Errorf("check --wait 100ms with nothing unread printed %q, want \"No new messages for carol (waited 100ms).\"", r.stdout)
	}
}

func TestWrongSecretRefusedBothWays(t *testing.T) {
	t.Parallel()

	t.Run("client with another secret", func(t *testing.T) {
		t.Parallel()
		m := newMesh(t, "IPC_SHARED_SECRET=alpha")
		broker := m.startBroker()
		client := m.withDir(t.TempDir()).withEnv("IPC_SHARED_SECRET=beta")
		for _, args := range [][]string{{"send", "--as", "mallory", "bob", "hello"}, {"status"}} {
			msg := client.mustFail(args...)
			if !strings.Contains(msg, strconv.Itoa(m.port)) || !strings.Contains(msg, "shared secret") {
				t.Errorf("ipcmesh %s with the wrong secret: the error should name the port %d and the shared secret: %q", args[0], m.port, msg)
			}
		}
		// Nothing reached the broker's store, and it still serves its own.
		if st := m.status(); st.Broker.PID != broker.pid() || counted(st.Messages) != 0 || counted(st.Instances) != 0 {
			t.Errorf("after the refused client, status is %+v: want the same broker, no messages, no instances", st)
		}
	})

	t.Run("impostor broker", func(t *testing.T) {
		t.Parallel()
		impostor := newMesh(t, "IPC_SHARED_SECRET=beta")
		ib := impostor.startBroker()
		client := impostor.withDir(t.TempDir()).withEnv("IPC_SHARED_SECRET=alpha")
		msg := client.mustFail("send", "--as", "alice", "bob", "the secret plan")
		if !strings.Contains(msg, "could not prove it knows this peer's shared secret") || !strings.Contains(msg, strconv.Itoa(impostor.port)) {
			t.Errorf("the error should name the port %d and say the broker could not prove it knows the secret: %q", impostor.port, msg)
		}
		ib.interrupt()
		ib.wait(runTimeout)
		st, err := store.Open(store.Options{Dir: impostor.dir})
		if err != nil {
			t.Fatalf("open the impostor's store: %v", err)
		}
		defer st.Close()
		stats, err := st.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if stats.Messages != 0 || stats.Instances != 0 {
			t.Errorf("the impostor's store holds %d messages and %d instances: something was sent to it", stats.Messages, stats.Instances)
		}
	})

	// A program that is not ipcmesh holds the port. It either answers
	// something else (as a web server would) or accepts and says nothing.
	for _, tc := range []struct {
		name   string
		answer []byte
	}{
		{"program that answers", []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")},
		{"program that stays silent", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			type seen struct{ frames []*ipc.Frame }
			conns := make(chan seen, 16)
			go func() {
				for {
					nc, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer nc.Close()
						nc.SetDeadline(time.Now().Add(runTimeout))
						br := bufio.NewReader(nc)
						var s seen
						if tc.answer != nil {
							if f, err := ipc.ReadFrame(br, 64<<10); err == nil {
								s.frames = append(s.frames, f)
							}
							nc.Write(tc.answer)
						} else {
							for {
								f, err := ipc.ReadFrame(br, 64<<10)
								if err != nil {
									break
								}
								s.frames = append(s.frames, f)
							}
						}
						conns <- s
					}()
				}
			}()
			m := newMesh(t).withPort(ln.Addr().(*net.TCPAddr).Port)
			r := m.run("send", "--as", "alice", "bob", "the secret plan")
			msg := oneLineError(t, r, "send")
			if !strings.Contains(msg, strconv.Itoa(m.port)) || strings.Count(msg, "not an ipcmesh broker") != 1 {
				t.Errorf("the error should name the port %d and say (once) it is not an ipcmesh broker: %q", m.port, msg)
			}
			t.Logf("the CLI gave up after %v: %s", r.took.Round(time.Millisecond), msg)
			// It gave up at the first answer instead of retrying: one
			// connection, and nothing but the hello on it.
			s := <-conns
			if len(s.frames) != 1 || s.frames[0].Op != ipc.OpHello {
				t.Errorf("the program received %d frames, want only the hello: %+v", len(s.frames), s.frames)
			}
			select {
			case s := <-conns:
				t.Errorf("the CLI connected again (%d frames) after the program showed it is not a broker", len(s.frames))
			default:
			}
		})
	}
}

// watchMessage waits for the watch --json process p to print a message with
// the given content and returns it.
func watchMessage(p *proc, content string) ipcmesh.Message {
	p.t.Helper()
	line := p.waitLine(p.stdout, strconv.Quote(content), startTimeout)
	var msg ipcmesh.Message
	if err := json.Unmarshal([]byte(line), &msg); err != nil {
		p.t.Fatalf("watch printed a line that is not a JSON message (%v): %q", err, line)
	}
	return msg
}

func TestImpersonationRefused(t *testing.T) {
	t.Parallel()
	const secret = "IPC_SHARED_SECRET=correct horse battery staple"
	a := newMesh(t, secret)
	a.startBroker()
	a.mustRun("register", "alice")
	alice := a.start(nil, "watch", "--json", "--as", "alice")
	a.mustRun("send", "--as", "carol", "alice", "ping")
	watchMessage(alice, "ping") // alice is connected and reading

	b := a.withDir(t.TempDir())
	msg := b.mustFail("register", "alice")
	if !strings.Contains(msg, `"alice"`) || !strings.Contains(msg, "alice-2") {
		t.Errorf("register of a connected name should say it is taken and suggest free names: %q", msg)
	}
	if msg := b.mustFail("send", "--as", "alice", "carol", "I am alice"); !strings.Contains(msg, `name "alice"`) {
		t.Errorf("send --as alice from another data folder should be refused for the name: %q", msg)
	}
	if msg := b.mustFail("rename", "--as", "alice", "x"); !strings.Contains(msg, `name "alice"`) {
		t.Errorf("rename --as alice from another data folder should be refused for the name: %q", msg)
	}
	b.mustRun("register", "bob")
	if msg := b.mustFail("rename", "--as", "bob", "alice"); !strings.Contains(msg, `name "alice"`) {
		t.Errorf("bob renaming himself to the connected alice should be refused for the name: %q", msg)
	}
	if msg := b.withEnv("IPC_NAME=alice").mustFail("unregister"); !strings.Contains(msg, `name "alice"`) {
		t.Errorf("unregister as alice from another data folder should be refused for the name: %q", msg)
	}
	if r := a.check("--as", "carol"); len(r.Messages) != 0 {
		t.Errorf("carol got mail from the refused impersonations: %+v", r.Messages)
	}

	// Whatever bob does, his messages arrive from bob.
	b.mustRun("send", "--as", "bob", "alice", "hi from bob")
	if m := watchMessage(alice, "hi from bob"); m.From != "bob" {
		t.Errorf("a message sent by bob arrived from %q", m.From)
	}
	b.mustRun("send", "alice", "sent as the name registered last")
	if m := watchMessage(alice, "sent as the name registered last"); m.From != "bob" {
		t.Errorf("a message sent from bob's data folder arrived from %q", m.From)
	}
	b.withEnv("IPC_NAME=alice").mustRun("send", "--as", "bob", "alice", "IPC_NAME says alice")
	if m := watchMessage(alice, "IPC_NAME says alice"); m.From != "bob" {
		t.Errorf("bob's message sent with IPC_NAME=alice arrived from %q", m.From)
	}
	// A program speaking the protocol itself cannot claim a sender either:
	// a "from" field in the request is not the sender.
	tok, err := auth.Keyring{Dir: b.dir}.Load("bob")
	if err != nil {
		t.Fatal(err)
	}
	raw := b.dial(b.keys("correct horse battery staple"), ipc.DialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	if err := raw.Call(ctx, ipc.OpResume, ipc.ResumeRequest{Token: tok}, nil); err != nil {
		t.Fatalf("resume bob over the protocol: %v", err)
	}
	forged := map[string]string{"id": ipc.NewID(), "to": "alice", "from": "alice", "content": "forged from field"}
	if err := raw.Call(ctx, ipc.OpSend, forged, nil); err != nil {
		t.Fatalf("send with a from field: %v", err)
	}
	if m := watchMessage(alice, "forged from field"); m.From != "bob" {
		t.Errorf("a send with \"from\":\"alice\" by bob arrived from %q", m.From)
	}
	// bob holds no claim on alice's name: a register over the protocol is
	// refused as well.
	err = raw.Call(ctx, ipc.OpRegister, ipc.RegisterRequest{Name: "alice"}, nil)
	if ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
		t.Errorf("register alice over the protocol: got %v, want name_taken", err)
	}
	var list []ipcmesh.Instance
	a.mustJSON(&list, "list", "--json")
	for _, in := range list {
		if in.Name == "x" {
			t.Errorf("list shows an instance named x: the refused rename happened")
		}
	}

	// Once alice's own data folder ends her session, the name is free.
	if r := a.mustRun("unregister", "--as", "alice"); !strings.Contains(r.stdout, "unregistered alice") {
		t.Errorf("unregister printed %q", r.stdout)
	}
	if r := b.mustRun("register", "alice"); !strings.Contains(r.stdout, "registered as alice") {
		t.Errorf("register alice after it was freed printed %q", r.stdout)
	}
}

func TestFloodRateLimited(t *testing.T) {
	t.Parallel()
	const rate, burst = 20, 20
	m := newMesh(t, fmt.Sprintf("IPC_RATE_LIMIT=%d", rate), fmt.Sprintf("IPC_RATE_BURST=%d", burst))
	m.startBroker()
	flooder := m.dial(m.keys(""), ipc.DialOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	if err := flooder.Call(ctx, ipc.OpRegister, ipc.RegisterRequest{Name: "flooder"}, nil); err != nil {
		t.Fatalf("register flooder: %v", err)
	}

	var (
		fired, ok, limited atomic.Int64
		mu                 sync.Mutex
		sample             *ipcmesh.Error
		others             []error
		firstLimited       = make(chan struct{})
		once               sync.Once
		stop               = make(chan struct{})
		wg                 sync.WaitGroup
	)
	start := time.Now()
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				n := fired.Add(1)
				if n > 500 {
					// 500 are fired; go on only while the other client runs.
					select {
					case <-stop:
						return
					default:
					}
				}
				err := flooder.Call(ctx, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "sink", Content: fmt.Sprintf("flood %d", n)}}, nil)
				var e *ipcmesh.Error
				switch {
				case err == nil:
					ok.Add(1)
				case errors.As(err, &e) && e.Code == ipcmesh.CodeRateLimited:
					limited.Add(1)
					once.Do(func() {
						mu.Lock()
						sample = e
						mu.Unlock()
						close(firstLimited)
					})
				default:
					mu.Lock()
					others = append(others, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	select {
	case <-firstLimited:
	case <-time.After(runTimeout):
		t.Fatalf("500 sends as fast as possible were never rate limited")
	}
	r := m.run("send", "--as", "calm", "flooder", "hello through the flood")
	close(stop)
	wg.Wait()
	elapsed := time.Since(start)

	t.Logf("fired %d sends in %v: %d accepted, %d rate limited (e.g. %q, retry after %v)", ok.Load()+limited.Load()+int64(len(others)), elapsed.Round(time.Millisecond), ok.Load(), limited.Load(), sample.Message, sample.RetryAfter())
	if len(others) > 0 {
		t.Errorf("the flood got errors other than rate_limited: %v", others)
	}
	if sample.RetryAfterMS <= 0 || !strings.Contains(sample.Message, "rate limited") {
		t.Errorf("a rate_limited error should say so and carry retry_after: %+v", sample)
	}
	if ok.Load() == 0 {
		t.Errorf("no send of the flood was accepted: the burst should pass")
	}
	// Whatever the speed, a token bucket accepts at most its burst plus its
	// rate over the time elapsed.
	if max := burst + int64(rate*elapsed.Seconds()) + 1; ok.Load() > max {
		t.Errorf("%d sends were accepted in %v, more than the limit allows (%d)", ok.Load(), elapsed, max)
	}
	if r.code != 0 || !strings.Contains(r.stdout, "delivered to flooder (online)") || r.stderr != "" {
		t.Errorf("another client's send during the flood should succeed at once: %s", r)
	}
}

func TestLargeMessagePathsConfined(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	m := newMesh(t)
	m = m.withDir(filepath.Join(root, "home", "data"))
	m.startBroker()
	m.mustRun("register", "reader")
	m.mustRun("register", "writer")
	before := snapshot(t, root)

	for _, bad := range []string{"../../etc/x", "a/b", "..", `x\y`, "../large-messages/x"} {
		for _, args := range [][]string{
			{"register", bad},
			{"send", "--as", "writer", bad, "hello"},
			{"send", "--as", bad, "reader", "hello"},
		} {
			if msg := m.mustMisuse(args...); !strings.Contains(msg, "use only letters, digits") {
				t.Errorf("ipcmesh %q should be refused as an invalid name: %q", args, msg)
			}
		}
		if msg := m.withEnv("IPC_NAME="+bad).mustMisuse("send", "reader", "hello"); !strings.Contains(msg, "use only letters, digits") {
			t.Errorf("IPC_NAME=%q should be refused as an invalid name: %q", bad, msg)
		}
	}

	body := strings.Repeat("0123456789abcdef", 50*1024/16)
	var sent ipc.SendResult
	r := m.runIn(body, "send", "--json", "--as", "writer", "reader", "-")
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &sent) != nil {
		t.Fatalf("send of a 50 KB message: %s", r)
	}
	msg := sent.Message
	largeDir := filepath.Join(m.dir, "large-messages")
	if !msg.Large || filepath.Dir(msg.Path) != largeDir {
		t.Fatalf("a 50 KB message should spill to a file in %s: large=%v path=%q", largeDir, msg.Large, msg.Path)
	}
	if base := filepath.Base(msg.Path); strings.Contains(base, "writer") || strings.Contains(base, "reader") {
		t.Errorf("the spill file's name %q carries a name from the message", base)
	}
	fi, err := os.Stat(msg.Path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(msg.Path); string(b) != body {
		t.Errorf("the spill file does not hold the body")
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("the spill file has mode %04o, want 0600", fi.Mode().Perm())
	}

	// Nothing changed anywhere but where a send is expected to write.
	after := snapshot(t, root)
	data := "home/data/"
	spill := data + "large-messages/" + filepath.Base(msg.Path)
	expected := map[string]bool{
		data + "ipcmesh.db":            true, // the message and the session
		data + "sessions":              true, // tokens are replaced by rename
		data + "sessions/writer.token": true, // the resumed session's new token
		data + "sessions/current":      true, // writer acted last
		data + "large-messages":        true, // the new entry
		spill:                          true,
	}
	for path, st := range after {
		old, existed := before[path]
		if existed && old == st {
			continue
		}
		if !expected[path] {
			what := "changed"
			if !existed {
				what = "appeared"
			}
			t.Errorf("%s %s", path, what)
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			t.Errorf("%s disappeared", path)
		}
	}
	if _, ok := after[spill]; !ok {
		t.Errorf("the walk did not find the spill file %s", spill)
	}
	if runtime.GOOS != "windows" {
		for path, st := range after {
			if !strings.HasPrefix(path+"/", data) {
				continue
			}
			want := os.FileMode(0o600)
			if st.dir {
				want = 0o700
			}
			if st.mode.Perm() != want {
				t.Errorf("%s has mode %04o, want %04o: data must be private to the user", path, st.mode.Perm(), want)
			}
		}
	}

	// The recipient sees a summary and the file, and fetch returns it whole.
	c := m.check("--as", "reader")
	if len(c.Messages) != 1 || c.Messages[0].Path != msg.Path || len(c.Messages[0].Content) >= len(body) {
		t.Fatalf("reader's check should show a summary and the file %s: %+v", msg.Path, c)
	}
	var f ipc.FetchResult
	m.mustJSON(&f, "fetch", "--json", "--as", "reader", msg.ID)
	if f.Content != body {
		t.Errorf("fetch returned %d bytes, want the whole %d-byte body", len(f.Content), len(body))
	}
}

// bulkInput is input of n bytes that counts how many were taken from it.
type bulkInput struct{ left, taken atomic.Int64 }

func newBulkInput(n int64) *bulkInput {
	b := new(bulkInput)
	b.left.Store(n)
	return b
}

func (b *bulkInput) Read(p []byte) (int, error) {
	n := min(int64(len(p)), b.left.Load())
	if n == 0 {
		return 0, io.EOF
	}
	for i := range n {
		p[i] = 'x'
	}
	b.left.Add(-n)
	b.taken.Add(n)
	return int(n), nil
}

// TestStdinOverTheLimitRefusedUnread pipes 64 MiB into send and share with
// a message limit of 4 KiB: each refuses at once with the limit in its
// error, the rest of the pipe is never read, and nothing is sent or shared.
func TestStdinOverTheLimitRefusedUnread(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_MAX_MESSAGE_BYTES=4096")
	m.startBroker()
	m.mustRun("register", "bob")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"send", "--as", "alice", "bob", "-"}, "the message on stdin is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it into several messages; nothing was sent"},
		{[]string{"share", "--as", "alice", "notes", "-"}, `the content for "notes" is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)`},
	} {
		in := newBulkInput(64 << 20)
		p := m.start(in, tc.args...)
		r := result{code: p.wait(runTimeout), stdout: p.stdout.String(), stderr: p.stderr.String()}
		if msg := oneLineError(t, r, tc.args[0]); !strings.Contains(msg, tc.want) {
			t.Errorf("ipcmesh %s: %q, want %q", strings.Join(tc.args, " "), msg, tc.want)
		}
		// What the pipe and the copy into it hold is all that may have gone
		// beyond the limit.
		if n := in.taken.Load(); n > 1<<20 {
			t.Errorf("ipcmesh %s read on past the limit: %d bytes were taken from its stdin", strings.Join(tc.args, " "), n)
		}
	}
	if c := m.check("--as", "bob"); len(c.Messages) != 0 {
		t.Errorf("bob got %d messages, want none", len(c.Messages))
	}
	var list []ipcmesh.Shared
	m.mustJSON(&list, "shared", "--json", "--as", "bob")
	if len(list) != 0 {
		t.Errorf("shared keys %+v, want none", list)
	}
}

// rawConn is a TCP connection to a broker that the test writes bytes to
// itself.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (m *mesh) rawConn() *rawConn {
	m.t.Helper()
	nc, err := net.Dial("tcp", m.addr())
	if err != nil {
		m.t.Fatalf("dial %s: %v", m.addr(), err)
	}
	m.t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(runTimeout))
	return &rawConn{t: m.t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// writeJSON writes one frame whose payload is v as JSON.
func (c *rawConn) writeJSON(v any) {
	c.t.Helper()
	payload, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.write(binary.BigEndian.AppendUint32(nil, uint32(len(payload))))
	c.write(payload)
}

func (c *rawConn) frame() *ipc.Frame {
	c.t.Helper()
	f, err := ipc.ReadFrame(c.br, 1<<20)
	if err != nil {
		c.t.Fatalf("read a frame from the broker: %v", err)
	}
	return f
}

// refused wants the broker to answer with an error of the given code and
// hang up, or (since a reset can overtake the answer) just hang up. It
// fails on a timeout: the broker must not leave a bad peer hanging.
func (c *rawConn) refused(code ipcmesh.Code) {
	c.t.Helper()
	answered := false
	for {
		f, err := ipc.ReadFrame(c.br, 1<<20)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				c.t.Fatalf("the broker neither answered nor closed the connection")
			}
			if !answered {
				c.t.Logf("closed without an answer (%v)", err)
			}
			return
		}
		if f.Error == nil || f.Error.Code != code {
			c.t.Fatalf("the broker answered %+v (error %+v), want a %s error", f, f.Error, code)
		}
		answered = true
	}
}

// handshake runs the hello and auth exchange with keys.
func (c *rawConn) handshake(keys auth.Keys) {
	c.t.Helper()
	cn, _ := auth.NewNonce()
	hello, _ := json.Marshal(ipc.HelloRequest{Protocol: ipc.Protocol, Versions: ipc.Versions, Nonce: cn})
	c.writeJSON(ipc.Frame{ID: 1, Op: ipc.OpHello, Body: hello})
	var hr ipc.HelloResponse
	if f := c.frame(); f.Error != nil || json.Unmarshal(f.Body, &hr) != nil || !keys.VerifyProof(auth.RoleBroker, hr.Version, cn, hr.Nonce, hr.Proof) {
		c.t.Fatalf("hello refused: %+v", f.Error)
	}
	proof, _ := json.Marshal(ipc.AuthRequest{Proof: keys.Proof(auth.RoleClient, hr.Version, cn, hr.Nonce)})
	c.writeJSON(ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof})
	if f := c.frame(); f.Error != nil {
		c.t.Fatalf("auth refused: %+v", f.Error)
	}
}

func TestMalformedFramesBrokerServes(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	keys := m.keys("")
	nonce, _ := auth.NewNonce()
	hello := func(protocol string, versions []int) ipc.Frame {
		body, _ := json.Marshal(ipc.HelloRequest{Protocol: protocol, Versions: versions, Nonce: nonce})
		return ipc.Frame{ID: 1, Op: ipc.OpHello, Body: body}
	}

	t.Run("garbage bytes", func(t *testing.T) {
		c := m.rawConn()
		c.write([]byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"))
		c.refused(ipcmesh.CodeBadRequest)
	})
	t.Run("1 GiB length prefix before the hello", func(t *testing.T) {
		c := m.rawConn()
		c.write(binary.BigEndian.AppendUint32(nil, 1<<30))
		c.refused(ipcmesh.CodeBadRequest)
	})
	t.Run("invalid JSON before the hello", func(t *testing.T) {
		c := m.rawConn()
		c.write(append(binary.BigEndian.AppendUint32(nil, 9), "{not json"...))
		c.refused(ipcmesh.CodeBadRequest)
	})
	t.Run("hello with the wrong protocol", func(t *testing.T) {
		c := m.rawConn()
		c.writeJSON(hello("http/1.1", ipc.Versions))
		c.refused(ipcmesh.CodeBadRequest)
	})
	t.Run("hello with no common version", func(t *testing.T) {
		c := m.rawConn()
		c.writeJSON(hello(ipc.Protocol, []int{99}))
		c.refused(ipcmesh.CodeUnsupported)
	})
	t.Run("request before the hello", func(t *testing.T) {
		c := m.rawConn()
		c.writeJSON(ipc.Frame{ID: 1, Op: ipc.OpStatus})
		c.refused(ipcmesh.CodeBadRequest)
	})
	t.Run("wrong proof", func(t *testing.T) {
		c := m.rawConn()
		c.writeJSON(hello(ipc.Protocol, ipc.Versions))
		if f := c.frame(); f.Error != nil {
			t.Fatalf("hello refused: %+v", f.Error)
		}
		proof, _ := json.Marshal(ipc.AuthRequest{Proof: make([]byte, 32)})
		c.writeJSON(ipc.Frame{ID: 2, Op: ipc.OpAuth, Body: proof})
		c.refused(ipcmesh.CodeUnauthorized)
	})
	t.Run("half a frame, then hang up", func(t *testing.T) {
		c := m.rawConn()
		c.write(append(binary.BigEndian.AppendUint32(nil, 100), `{"id":1,"op":"he`...))
		c.nc.Close()
	})
	t.Run("after the handshake: bad frames are answered and the connection goes on", func(t *testing.T) {
		c := m.rawConn()
		c.handshake(keys)
		c.write(append(binary.BigEndian.AppendUint32(nil, 9), "{not json"...))
		if f := c.frame(); f.Error == nil || f.Error.Code != ipcmesh.CodeBadRequest {
			t.Fatalf("invalid JSON: got %+v, want bad_request", f)
		}
		c.write(binary.BigEndian.AppendUint32(nil, 0))
		if f := c.frame(); f.Error == nil || f.Error.Code != ipcmesh.CodeBadRequest {
			t.Fatalf("empty frame: got %+v, want bad_request", f)
		}
		c.writeJSON(ipc.Frame{ID: 3, Op: "delete_everything"})
		if f := c.frame(); f.ID != 3 || f.Error == nil || f.Error.Code != ipcmesh.CodeUnknownOp {
			t.Fatalf("unknown op: got %+v, want unknown_op", f)
		}
		c.writeJSON(ipc.Frame{ID: 4, Op: ipc.OpSend, Body: json.RawMessage(`{"id":"x","to":"b","content":"hi"}`)})
		if f := c.frame(); f.ID != 4 || f.Error == nil || f.Error.Code != ipcmesh.CodeNotRegistered {
			t.Fatalf("send without a name: got %+v, want not_registered", f)
		}
		c.writeJSON(ipc.Frame{ID: 5, Op: ipc.OpStatus})
		var st ipc.StatusResult
		if f := c.frame(); f.ID != 5 || f.Error != nil || json.Unmarshal(f.Body, &st) != nil || st.Broker.PID != broker.pid() {
			t.Fatalf("status on the same connection after the bad frames: got %+v", f)
		}
	})
	t.Run("after the handshake: 1 GiB length prefix", func(t *testing.T) {
		c := m.rawConn()
		c.handshake(keys)
		c.write(binary.BigEndian.AppendUint32(nil, 1<<30))
		c.refused(ipcmesh.CodeTooLarge)
	})

	if broker.hasExited() {
		t.Fatalf("the broker exited (status %d)", broker.code)
	}
	if r := m.mustRun("send", "--as", "a", "b", "still here"); !strings.Contains(r.stdout, "queued for b") {
		t.Errorf("send after the bad frames printed %q", r.stdout)
	}
	if r := m.mustRun("check", "--as", "b"); !strings.Contains(r.stdout, "a: still here") {
		t.Errorf("check after the bad frames printed %q", r.stdout)
	}
	if st := m.status(); st.Broker.PID != broker.pid() {
		t.Errorf("status says pid %d hosts the broker, want the original broker %d", st.Broker.PID, broker.pid())
	}
}

// TestNewDataFolderWithSharedSecret: with IPC_SHARED_SECRET set nothing
// makes the secret file, which made the data folder before anything else
// needed it; a data folder that does not exist yet is made all the same,
// private, by the first command, whose broker then serves.
func TestNewDataFolderWithSharedSecret(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_SHARED_SECRET=a secret for a new folder")
	m = m.withDir(filepath.Join(m.dir, "new", "data"))
	m.mustRun("send", "--as", "a", "b", "into a new folder")
	if r := m.mustRun("check", "--as", "b"); !strings.Contains(r.stdout, "into a new folder") {
		t.Errorf("check printed %q, want the message", r.stdout)
	}
	fi, err := os.Stat(m.dir)
	if err != nil {
		t.Fatal(err)
	}
	// Windows has no mode bits: a folder takes its parent's ACL there.
	if perm := fi.Mode().Perm(); perm != 0o700 && runtime.GOOS != "windows" {
		t.Errorf("the data folder was made with mode %04o, want 0700", perm)
	}
}

func TestTwoBrokersOneDataDir(t *testing.T) {
	t.Parallel()
	// One secret for every data folder, so that only the data folder and the
	// port tell the brokers apart.
	first := newMesh(t, "IPC_SHARED_SECRET=one secret for all folders")
	broker := first.startBroker()
	second := first.withPort(freePort(t))
	msg := second.mustFail("broker")
	if !strings.Contains(msg, "another ipcmesh broker is using the data folder") || !strings.Contains(msg, first.dir) {
		t.Errorf("the second broker should say the data folder %s is in use: %q", first.dir, msg)
	}
	if !portFree(t, second.port) {
		t.Errorf("the refused broker left port %d bound", second.port)
	}
	// A second broker on the same port, whatever its data folder, finds
	// the first one serving.
	msg = first.withDir(t.TempDir()).mustFail("broker")
	if !strings.Contains(msg, "a broker already serves "+first.addr()) || !strings.Contains(msg, strconv.Itoa(broker.pid())) {
		t.Errorf("a second broker on the same port should name the broker serving it: %q", msg)
	}
	if st := first.status(); st.Broker.PID != broker.pid() {
		t.Errorf("the first broker no longer serves: status says pid %d, want %d", st.Broker.PID, broker.pid())
	}
}

// TestOneShotWithoutBroker: a command that finds no broker starts a
// detached one, which outlives it and serves the next command, and which
// ipcmesh stop stops.
func TestOneShotWithoutBroker(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	send := m.start(strings.NewReader(""), "send", "--as", "a", "b", "hello")
	if code := send.wait(runTimeout); code != 0 || !strings.Contains(send.stdout.String(), "queued for b") || send.stderr.String() != "" {
		t.Fatalf("send with no broker running: exit %d\nstdout: %s\nstderr: %s", code, send.stdout, send.stderr)
	}
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatalf("the one-shot send started no detached broker that outlives it")
	}
	if pid == send.pid() {
		t.Fatalf("the broker runs in the send's own process (pid %d)", pid)
	}
	if st := m.status(); st.Broker.PID != pid {
		t.Errorf("status says pid %d hosts the broker, want the detached broker %d", st.Broker.PID, pid)
	}
	r := m.mustRun("check", "--as", "b")
	if !strings.Contains(r.stdout, "a: hello") {
		t.Errorf("check printed %q, want the message from a", r.stdout)
	}
	if r := m.mustRun("check", "--as", "b"); strings.TrimSpace(r.stdout) != "No new messages for b." {
		t.Errorf("a second check printed %q", r.stdout)
	}

	r = m.mustRun("stop")
	if !strings.Contains(r.stdout, fmt.Sprintf("stopped the broker (pid %d)", pid)) {
		t.Errorf("stop printed %q, want it to name pid %d", r.stdout, pid)
	}
	// The broker is asked to hand over, on Windows too, where stop once
	// could only end its process.
	if strings.Contains(r.stdout, "ending its process") || strings.Contains(r.stdout, "SIGTERM") {
		t.Errorf("stop printed %q; want the broker asked to hand over, not signalled or killed", r.stdout)
	}
	if !portFree(t, m.port) {
		t.Errorf("port %d is still bound after ipcmesh stop", m.port)
	}
	if _, err := os.Stat(filepath.Join(m.dir, "broker.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stopped broker left its record behind: %v", err)
	}
	// With none running, stop has nothing to do and succeeds, as a
	// script's cleanup wants it to, saying so.
	if r := m.mustRun("stop"); !strings.Contains(r.stdout, "no broker is running on "+m.addr()+": nothing to stop") {
		t.Errorf("stop with no broker printed %q, want it to say none is running on %s", r.stdout, m.addr())
	}
}

// TestStopWithADamagedBrokerRecord: the broker says it serves this data
// folder, whose record of it is damaged: stop stops it all the same.
func TestStopWithADamagedBrokerRecord(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "alice")
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("register started no detached broker")
	}
	if err := os.WriteFile(filepath.Join(m.dir, "broker.json"), []byte("{garbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := m.mustRun("stop"); !strings.Contains(r.stdout, fmt.Sprintf("stopped the broker (pid %d)", pid)) {
		t.Errorf("stop with a damaged broker record printed %q, want it to name pid %d", r.stdout, pid)
	}
	if !portFree(t, m.port) {
		t.Errorf("port %d is still bound after ipcmesh stop", m.port)
	}
}

// runNoFileWrites runs ipcmesh with args as a process that cannot write a
// byte to any file (ulimit -f 0): every write of a token fails as on a full
// disk, whoever runs the test, root included. Pipes are not files, so what
// it prints arrives.
func (m *mesh) runNoFileWrites(args ...string) result {
	m.t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		m.t.Skipf("no sh to run ulimit with: %v", err)
	}
	cmd := exec.Command(sh, append([]string{"-c", `ulimit -f 0 && exec "$0" "$@"`, ipcmeshBin}, args...)...)
	p := startCmd(m.t, cmd, "(ulimit -f 0) ipcmesh "+strings.Join(args, " "), m.environ(), strings.NewReader(""))
	code := p.wait(runTimeout)
	return result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

// TestTokenFileNotWritable runs commands whose data folder cannot take a
// new token file. A resumed session sends all the same, keeping the token
// it has; a name newly registered is let go again, with an error that says
// where and what to do, so that a retry can claim it.
func TestTokenFileNotWritable(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("ulimit needs a unix shell")
	}
	t.Parallel()
	m := newMesh(t)
	m.startBroker()
	m.mustRun("register", "bob")
	m.mustRun("register", "alice")
	tokenFile := filepath.Join(m.dir, "sessions", "alice.token")
	kept, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}

	r := m.runNoFileWrites("send", "--as", "alice", "bob", "sent while no file can be written")
	if r.code != 0 || !strings.Contains(r.stdout, "for bob") {
		t.Fatalf("send with a token file that cannot be rewritten: %s", r)
	}
	if !strings.Contains(r.stderr, "WARN") || !strings.Contains(r.stderr, "could not keep") {
		t.Errorf("send did not warn that the renewed token was not kept: %q", r.stderr)
	}
	if now, err := os.ReadFile(tokenFile); err != nil || string(now) != string(kept) {
		t.Errorf("the kept token changed (%v): %q, want %q", err, now, kept)
	}
	// The token kept before still resumes the name.
	m.mustRun("send", "--as", "alice", "bob", "sent after")
	c := m.check("--as", "bob")
	if len(c.Messages) != 2 || c.Messages[0].Content != "sent while no file can be written" || c.Messages[1].Content != "sent after" {
		t.Errorf("bob got %+v, want both messages", c.Messages)
	}

	msg := oneLineError(t, m.runNoFileWrites("register", "carol"), "register")
	for _, want := range []string{"carol", m.dir, "free some space"} {
		if !strings.Contains(msg, want) {
			t.Errorf("register with nowhere to keep the token: %q does not say %q", msg, want)
		}
	}
	if r := m.run("register", "carol"); r.code != 0 {
		t.Errorf("a retry of the register that could not keep its token: %s", r)
	}
}

func TestDemo(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	env := append(testbin.CleanEnviron(), "TMPDIR="+tmp, "TMP="+tmp, "TEMP="+tmp)
	r := runProc(t, env, "", runTimeout, "demo")
	if r.code != 0 {
		t.Fatalf("ipcmesh demo: %s", r)
	}
	kill := "kill -9 the broker"
	if runtime.GOOS == "windows" {
		kill = "end the broker process (taskkill /F)" // Windows has no kill -9
	}
	for _, want := range []string{kill, "took over as broker", "crossed a failover", "intact: true", "201 Created", "from human: \"hello from a person in the browser\"",
		// What to do next is the Quick start's one name per terminal, not
		// a register in each, which makes them share the last one.
		"ipcmesh send --as builder reviewer", "ipcmesh check --as reviewer"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the demo's output does not mention %q:\n%s", want, r.stdout)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the demo left %d entries in the temporary folder", len(left))
	}
}

// TestUnregisteredSessionReadsNoMore: once alice's session is ended, a
// connection that acted as alice must not read the mail of whoever holds
// the name next.
func TestUnregisteredSessionReadsNoMore(t *testing.T) {
	t.Parallel()
	const secret = "IPC_SHARED_SECRET=correct horse battery staple"
	a := newMesh(t, secret)
	a.startBroker()
	a.mustRun("register", "alice")
	old := a.start(nil, "watch", "--json", "--as", "alice")
	a.mustRun("send", "--as", "carol", "alice", "ping")
	watchMessage(old, "ping") // the old watch is connected and waiting for mail

	a.mustRun("unregister", "--as", "alice")
	b := a.withDir(t.TempDir())
	b.mustRun("register", "alice")
	a.mustRun("send", "--as", "carol", "alice", "for the new alice only")

	// The send wakes the old watch's waiting check, whatever the broker does
	// with it; the watch then fails for want of a name and exits.
	old.wait(2 * time.Minute)
	if strings.Contains(old.stdout.String(), "for the new alice only") {
		t.Errorf("the watch whose session was unregistered printed mail sent to the name's new holder:\n%s", old.stdout.String())
	}
	if r := b.check("--as", "alice"); len(r.Messages) != 1 || r.Messages[0].Content != "for the new alice only" {
		t.Errorf("the new alice should find the message unread: %+v", r.Messages)
	}
}

// TestAckedBeforeKillSurvives: whatever a sender was told is stored is
// there after the broker dies without warning, and nothing else is.
func TestAckedBeforeKillSurvives(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "erin")
	var want []string
	for i := 1; i <= 20; i++ {
		content := fmt.Sprintf("acked %d", i)
		m.mustRun("send", "--as", "frank", "erin", content)
		want = append(want, content)
	}
	// kill -9: no goaway, no flush, no store close; only what was fsynced
	// before each ack can be there.
	if err := broker.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	broker.wait(runTimeout)
	m.startBroker()
	r := m.mustRun("check", "--json", "--as", "erin")
	var got ipc.CheckResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("check --json printed %q: %v", r.stdout, err)
	}
	var contents []string
	for _, msg := range got.Messages {
		contents = append(contents, msg.Content)
	}
	if strings.Join(contents, "|") != strings.Join(want, "|") {
		t.Fatalf("after kill -9 and a restart erin has %q, want every acked message once, in order: %q", contents, want)
	}
}
