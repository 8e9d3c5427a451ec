package election

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Mail stored while a subscribed peer had no connection was pushed to
// nobody: after the peer reconnects it is handed to OnEvent all the same,
// once, and what was pushed before the loss is not handed on again.
func TestMailStoredWhileDisconnectedIsPushedAfter(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	ctx := ctxT(t)
	alice := m.joinCuttable("alice", nil, nil)
	bob := m.join("bob")

	if _, err := bob.Send(ctx, "alice", "before"); err != nil {
		t.Fatal(err)
	}
	if got := alice.next(t, "bob's first message"); got != "before" {
		t.Fatalf("pushed %q, want before", got)
	}

	alice.cut()
	if _, err := bob.Send(ctx, "alice", "during"); err != nil {
		t.Fatal(err)
	}
	alice.reconnect()
	if got := alice.next(t, "the message stored while she was away"); got != "during" {
		t.Fatalf("after reconnecting alice was pushed %q, want during (before was pushed already)", got)
	}
	if _, err := bob.Send(ctx, "alice", "after"); err != nil {
		t.Fatal(err)
	}
	if got := alice.next(t, "bob's message after she reconnected"); got != "after" {
		t.Fatalf("pushed %q, want after", got)
	}
	if c, err := alice.Check(ctx, 10, 0); err != nil || len(c.Messages) != 3 {
		t.Fatalf("alice's inbox: %d messages, %v; want all three unread (a push is not a read)", len(c.Messages), err)
	}
}

// Behind more unread mail than one check returns, the mail stored while
// the peer was away is past the first page: the catch-up reads on to it,
// and hands on none of the older mail again.
func TestMailStoredWhileDisconnectedIsPushedPastAPageOfUnread(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	ctx := ctxT(t)
	alice := m.joinCuttable("alice", nil, nil)
	bob := m.join("bob")

	n := sendPageOfMail(t, bob, "alice")
	for range n {
		alice.next(t, "bob's older messages")
	}

	alice.cut()
	if _, err := bob.Send(ctx, "alice", "during"); err != nil {
		t.Fatal(err)
	}
	alice.reconnect()
	if got := alice.next(t, "the message stored while she was away"); got != "during" {
		t.Fatalf("after reconnecting alice was pushed %.20q, want during (the older mail was pushed already)", got)
	}
	if _, err := bob.Send(ctx, "alice", "after"); err != nil {
		t.Fatal(err)
	}
	if got := alice.next(t, "bob's message after she reconnected"); got != "after" {
		t.Fatalf("pushed %.20q, want after", got)
	}
}

// A broker older than the check's after answers every page from the oldest
// unread message: the catch-up sees the page come again and stops, rather
// than read the same page until its time is up.
func TestCatchUpStopsAtABrokerThatReadsOnlyTheFirstPage(t *testing.T) {
	m := newMesh(t)
	m.join("") // hosts the broker
	ctx := ctxT(t)
	var checks atomic.Int32
	logged := make(chan string, 256)
	// The check requests lose their after, which such a broker would not
	// know.
	olderBroker := func(req *ipc.CheckRequest) {
		checks.Add(1)
		req.After = 0
	}
	alice := m.joinCuttable("alice", func(nc net.Conn) net.Conn {
		return editChecks(nc, olderBroker)
	}, func(c *Config) {
		c.Logger = slog.New(messageHandler(logged))
	})
	bob := m.join("bob")

	n := sendPageOfMail(t, bob, "alice")
	for range n {
		alice.next(t, "bob's older messages")
	}

	alice.cut()
	if _, err := bob.Send(ctx, "alice", "during"); err != nil {
		t.Fatal(err)
	}
	checks.Store(0)
	alice.reconnect()
	for msg := ""; !strings.Contains(msg, "only the oldest unread messages"); {
		select {
		case msg = <-logged:
		case <-ctx.Done():
			t.Fatalf("the catch-up did not say it stopped at the first page (%d checks)", checks.Load())
		}
	}
	if got := checks.Load(); got != 2 {
		t.Errorf("the catch-up sent %d checks; want 2: the first page, and the same page again", got)
	}
	if _, err := bob.Send(ctx, "alice", "after"); err != nil {
		t.Fatal(err)
	}
	if got := alice.next(t, "bob's message after she reconnected"); got != "after" {
		t.Fatalf("pushed %.20q, want after: nothing from the catch-up, whose page was pushed already", got)
	}
}

// sendPageOfMail sends from p to the name to more mail than one check
// returns: over its 1 MiB of text, each message short of a large one.
// It returns how many messages it sent.
func sendPageOfMail(t *testing.T, p *Peer, to string) int {
	t.Helper()
	const size = 10_000
	n := 1<<20/size + 2
	text := strings.Repeat("x", size)
	ctx := ctxT(t)
	for i := range n {
		if _, err := p.Send(ctx, to, text); err != nil {
			t.Fatalf("send %d of %d: %v", i+1, n, err)
		}
	}
	return n
}

// cuttable is a subscribed peer whose connection the test can cut, and
// which holds back from reconnecting until the test lets it.
type cuttable struct {
	*Peer
	pushed  chan string // the content of each message handed to OnEvent
	down    chan struct{}
	permits chan struct{}
	mu      sync.Mutex
	last    net.Conn
}

// joinCuttable joins a cuttable peer registered as name. wrap, if set,
// wraps each connection it dials; tweak, if set, adjusts its Config.
func (m *mesh) joinCuttable(name string, wrap func(net.Conn) net.Conn, tweak func(*Config)) *cuttable {
	m.t.Helper()
	c := &cuttable{
		pushed:  make(chan string, 4096),
		down:    make(chan struct{}, 1),
		permits: make(chan struct{}, 1),
	}
	c.permits <- struct{}{}
	dial := func(ctx context.Context) (net.Conn, error) {
		select {
		case <-c.permits:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", m.addr)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.last = nc
		c.mu.Unlock()
		if wrap != nil {
			return wrap(nc), nil
		}
		return nc, nil
	}
	c.Peer = m.joinWith(name, func(cfg *Config) {
		cfg.Dial = dial
		cfg.Subscribe = true
		cfg.OnEvent = func(ev ipc.Event) {
			var msg ipcmesh.Message
			if ev.Name == ipc.EventMessage && json.Unmarshal(ev.Body, &msg) == nil {
				c.pushed <- msg.Content
			}
		}
		cfg.OnConnection = func(_ ipc.BrokerInfo, up bool) {
			if !up {
				c.down <- struct{}{}
			}
		}
		if tweak != nil {
			tweak(cfg)
		}
	})
	return c
}

// cut closes the peer's connection and waits until the peer knows.
func (c *cuttable) cut() {
	c.mu.Lock()
	c.last.Close()
	c.mu.Unlock()
	<-c.down
}

// reconnect lets the peer dial again.
func (c *cuttable) reconnect() { c.permits <- struct{}{} }

// next returns the content of the next message handed to OnEvent.
func (c *cuttable) next(t *testing.T, what string) string {
	t.Helper()
	select {
	case s := <-c.pushed:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("%s was not pushed %s within 10 s", c.Name(), what)
		return ""
	}
}

// messageHandler sends the message of every record at Info or above to
// ch, dropping those ch has no room for.
type messageHandler chan string

func (h messageHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }
func (h messageHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h messageHandler) WithGroup(string) slog.Handler                { return h }

func (h messageHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r.Message:
	default:
	}
	return nil
}
