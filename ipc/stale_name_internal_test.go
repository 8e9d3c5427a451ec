package ipc

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/store"
)

// internalBroker is a broker on a bbolt store in a fresh data folder and a
// loopback listener, for the tests that call a handler themselves. It is
// closed when the test ends.
type internalBroker struct {
	*Broker
	addr string
	keys auth.Keys
}

func startInternalBroker(t *testing.T) *internalBroker {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	keys, err := auth.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	b := NewBroker(Config{Store: st, Keys: keys, Addr: ln.Addr().String()})
	served := make(chan error, 1)
	go func() { served <- b.Serve(ln) }()
	t.Cleanup(func() {
		b.Close()
		if err := <-served; !errors.Is(err, ErrBrokerClosed) {
			t.Errorf("Serve returned %v, want ErrBrokerClosed", err)
		}
	})
	return &internalBroker{Broker: b, addr: ln.Addr().String(), keys: keys}
}

// dial opens a connection, closed when the test ends.
func (ib *internalBroker) dial(t *testing.T) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Dial(ctx, ib.addr, ib.keys, DialOptions{})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func call(t *testing.T, c *Client, op string, in, out any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return c.Call(ctx, op, in, out)
}

func must(t *testing.T, c *Client, op string, in, out any) {
	t.Helper()
	if err := call(t, c, op, in, out); err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// connOf returns the one connection that acts as name.
func (ib *internalBroker) connOf(t *testing.T, name string) *conn {
	t.Helper()
	ib.presence.mu.Lock()
	defer ib.presence.mu.Unlock()
	if n := len(ib.presence.online[name]); n != 1 {
		t.Fatalf("%d connections act as %s, want 1", n, name)
	}
	for c := range ib.presence.online[name] {
		return c
	}
	return nil
}

// loseAlice prepares the request the tests below make on behalf of old: a
// connection that acted as alice when its request was read, and lost the
// name before the request ran, to a second connection of its own session
// that ended (or renamed) it. Then another instance registered alice anew,
// and holds the session returned.
//
// dispatch reads the connection's name before the handler runs, and the
// tests call the handler with the name it read: that is such a request,
// with the window held open for as long as the test needs, and no timing.
func loseAlice(t *testing.T, ib *internalBroker, lose func(second *Client)) (old *conn, fresh Session) {
	t.Helper()
	first := ib.dial(t)
	var s Session
	must(t, first, OpRegister, RegisterRequest{Name: "alice"}, &s)
	old = ib.connOf(t, "alice")
	second := ib.dial(t)
	must(t, second, OpResume, ResumeRequest{Token: s.Token}, nil)
	lose(second)
	if got := ib.presence.nameOf(old); got == "alice" {
		t.Fatalf("the first connection still acts as alice")
	}
	must(t, ib.dial(t), OpRegister, RegisterRequest{Name: "alice"}, &fresh)
	return old, fresh
}

// stillAlice fails the test unless the session of alice registered anew
// is whole: its token resumes it.
func stillAlice(t *testing.T, ib *internalBroker, fresh Session) {
	t.Helper()
	var s Session
	if err := call(t, ib.dial(t), OpResume, ResumeRequest{Token: fresh.Token}, &s); err != nil || s.Name != "alice" {
		t.Fatalf("resume with the token of alice's new session: %v (acting as %q), want alice", err, s.Name)
	}
}

// The ways the first connection loses alice: a second connection of the
// session unregisters it, or renames it away (which moves the first along).
var losses = []struct {
	name string
	lose func(t *testing.T) func(*Client)
}{
	{"unregistered", func(t *testing.T) func(*Client) {
		return func(c *Client) { must(t, c, OpUnregister, nil, nil) }
	}},
	{"renamed", func(t *testing.T) func(*Client) {
		return func(c *Client) {
			must(t, c, OpRename, RenameRequest{RequestID: NewID(), NewName: "carol"}, nil)
		}
	}},
}

func wantNotRegistered(t *testing.T, op string, err error) {
	t.Helper()
	var e *ipcmesh.Error
	if !errors.As(err, &e) || e.Code != ipcmesh.CodeNotRegistered {
		t.Fatalf("%s by a connection that no longer acts as alice: %v, want not_registered", op, err)
	}
}

// A rename read while the connection acted as alice, which runs after it
// lost the name and another instance registered alice, renames nothing:
// it must not move the other instance to the new name and hand its session
// to the connection that asked.
func TestRenameOfANameLostMeanwhile(t *testing.T) {
	for _, tc := range losses {
		t.Run(tc.name, func(t *testing.T) {
			ib := startInternalBroker(t)
			old, fresh := loseAlice(t, ib, tc.lose(t))
			body, _ := json.Marshal(RenameRequest{RequestID: NewID(), NewName: "bob"})
			_, err := ib.rename(old, "alice", body)
			wantNotRegistered(t, OpRename, err)
			stillAlice(t, ib, fresh)
			must(t, ib.dial(t), OpRegister, RegisterRequest{Name: "bob"}, nil) // bob is free
		})
	}
}

// The same for unregister: it must not end the session of whoever
// registered the name since.
func TestUnregisterOfANameLostMeanwhile(t *testing.T) {
	for _, tc := range losses {
		t.Run(tc.name, func(t *testing.T) {
			ib := startInternalBroker(t)
			old, fresh := loseAlice(t, ib, tc.lose(t))
			_, err := ib.unregister(old, "alice", nil)
			wantNotRegistered(t, OpUnregister, err)
			stillAlice(t, ib, fresh)
		})
	}
}

// A register of alice read while the connection acted as alice, which
// runs after it lost the name, is an ordinary register: the connection no
// longer acts as the name, so it does not join the session that another
// instance made since.
func TestRegisterOfANameLostMeanwhile(t *testing.T) {
	for _, tc := range losses {
		t.Run(tc.name, func(t *testing.T) {
			ib := startInternalBroker(t)
			old, fresh := loseAlice(t, ib, tc.lose(t))
			body, _ := json.Marshal(RegisterRequest{Name: "alice"})
			s, err := ib.register(old, "alice", body)
			var e *ipcmesh.Error
			if !errors.As(err, &e) || e.Code != ipcmesh.CodeNameTaken {
				t.Fatalf("register of alice by a connection that no longer acts as it, while another does: %v (%+v), want name_taken", err, s)
			}
			stillAlice(t, ib, fresh)
		})
	}
}
