package gateway

import (
	"errors"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
)

// sessionOf returns the session the face holds for name, nil if none.
func (f *face) sessionOf(name string) *session {
	m := f.srv.sessions
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.byName[name]
}

// setIdle makes d the face's Options.Idle and starts every idle name's
// timer afresh with it.
func (f *face) setIdle(d time.Duration) {
	m := f.srv.sessions
	m.mu.Lock()
	defer m.mu.Unlock()
	f.srv.opts.Idle = d
	for _, sess := range m.byName {
		if sess.idle != nil {
			sess.idle.Stop()
			sess.idle = nil
		}
		m.idleLocked(sess)
	}
}

// TestIdleNameLeaves checks that an idle name's peer leaves, and that the
// next request acts as the name again with its mail intact.
func TestIdleNameLeaves(t *testing.T) {
	// The name is made idle on purpose, below: a short Idle from the start
	// could end it between two steps of a busy machine.
	f := newFace(t, func(o *Options) { o.Idle = time.Hour })
	left := make(chan string, 4)
	f.srv.sessions.mu.Lock()
	f.srv.sessions.onLeave = func(name string) { left <- name }
	f.srv.sessions.mu.Unlock()
	key := f.key("alice")
	bob := f.peer("bob")

	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	first := f.sessionOf("alice")
	if first == nil {
		t.Fatal("no session for alice after register")
	}
	f.setIdle(50 * time.Millisecond)
	select {
	case name := <-left:
		if name != "alice" {
			t.Fatalf("%s left, want alice", name)
		}
	case <-ctxT(t).Done():
		t.Fatal("alice did not leave when idle")
	}
	if f.sessionOf("alice") != nil {
		t.Error("the idle session is still held")
	}
	// From here on alice must stay between requests.
	f.setIdle(time.Hour)
	if _, err := first.peer.Status(ctxT(t)); !errors.Is(err, election.ErrClosed) {
		t.Errorf("the idle peer answers %v, want ErrClosed", err)
	}
	if _, err := bob.Send(ctxT(t), "alice", "while you were away"); err != nil {
		t.Fatal(err)
	}
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, nil)
	var me meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me)
	if me.Unread != 1 || !me.Online {
		t.Errorf("me = %+v, want online with 1 unread", me)
	}
	if s := f.sessionOf("alice"); s == nil || s == first {
		t.Error("the name was not registered again with a new peer")
	}
}

// TestCloseLeaves checks that Close closes every name's peer and refuses
// what comes after.
func TestCloseLeaves(t *testing.T) {
	f := newFace(t, nil)
	var peers []*election.Peer
	for _, name := range []string{"alice", "bob"} {
		f.ok(req{method: "POST", path: "/api/v1/register", key: f.key(name)}, 200, nil)
		peers = append(peers, f.sessionOf(name).peer)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(peers, f.srv.admin) {
		if _, err := p.Status(ctxT(t)); !errors.Is(err, election.ErrClosed) {
			t.Errorf("a peer of the face answers %v after Close, want ErrClosed", err)
		}
	}
	f.fails(req{method: "POST", path: "/api/v1/register", key: f.key("carol")}, 503, "shutting_down")
}
