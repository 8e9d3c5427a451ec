package election

import (
	"context"
	"encoding/json"
	"net"
	"sync"
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

	// alice reaches the broker through connections the test can cut,
	// and can hold back from reconnecting until the test lets her.
	permits := make(chan struct{}, 1)
	permits <- struct{}{}
	var (
		mu   sync.Mutex
		last net.Conn
	)
	dial := func(ctx context.Context) (net.Conn, error) {
		select {
		case <-permits:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		var d net.Dialer
		nc, err := d.DialContext(ctx, "tcp", m.addr)
		mu.Lock()
		last = nc
		mu.Unlock()
		return nc, err
	}
	pushed := make(chan string, 16)
	down := make(chan struct{}, 1)
	alice := m.joinWith("alice", func(c *Config) {
		c.Dial = dial
		c.Subscribe = true
		c.OnEvent = func(ev ipc.Event) {
			var msg ipcmesh.Message
			if ev.Name == ipc.EventMessage && json.Unmarshal(ev.Body, &msg) == nil {
				pushed <- msg.Content
			}
		}
		c.OnConnection = func(_ ipc.BrokerInfo, up bool) {
			if !up {
				down <- struct{}{}
			}
		}
	})
	bob := m.join("bob")

	next := func(what string) string {
		t.Helper()
		select {
		case c := <-pushed:
			return c
		case <-time.After(10 * time.Second):
			t.Fatalf("alice was not pushed %s within 10 s", what)
			return ""
		}
	}
	if _, err := bob.Send(ctx, "alice", "before"); err != nil {
		t.Fatal(err)
	}
	if got := next("bob's first message"); got != "before" {
		t.Fatalf("pushed %q, want before", got)
	}

	mu.Lock()
	last.Close()
	mu.Unlock()
	<-down
	if _, err := bob.Send(ctx, "alice", "during"); err != nil {
		t.Fatal(err)
	}
	permits <- struct{}{}
	if got := next("the message stored while she was away"); got != "during" {
		t.Fatalf("after reconnecting alice was pushed %q, want during (before was pushed already)", got)
	}
	if _, err := bob.Send(ctx, "alice", "after"); err != nil {
		t.Fatal(err)
	}
	if got := next("bob's message after she reconnected"); got != "after" {
		t.Fatalf("pushed %q, want after", got)
	}
	if c, err := alice.Check(ctx, 10, 0); err != nil || len(c.Messages) != 3 {
		t.Fatalf("alice's inbox: %d messages, %v; want all three unread (a push is not a read)", len(c.Messages), err)
	}
}
