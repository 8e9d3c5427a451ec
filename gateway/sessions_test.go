package gateway

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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

// leaves reports the name of each peer of the face that leaves the mesh.
func (f *face) leaves() <-chan string {
	left := make(chan string, 4)
	m := f.srv.sessions
	m.mu.Lock()
	defer m.mu.Unlock()
	m.onLeave = func(name string) { left <- name }
	return left
}

// awaitLeave waits for name's peer to leave.
func (f *face) awaitLeave(left <-chan string, name string) {
	f.t.Helper()
	select {
	case got := <-left:
		if got != name {
			f.t.Fatalf("%s's peer left, want %s's", got, name)
		}
	case <-ctxT(f.t).Done():
		f.t.Fatalf("%s's peer did not leave", name)
	}
}

// TestRenamedElsewhere renames a key's name on another connection of the
// face's session, as "ipcmesh rename" with the face's data folder does.
// The key still acts as that name and as nobody else: its stream ends,
// its requests, which would act as the new name, are refused with
// renamed, and a register takes the name back.
func TestRenamedElsewhere(t *testing.T) {
	f := newFace(t, nil)
	left := f.leaves()
	key := f.key("carol")
	bob := f.peer("bob")
	ctx := ctxT(t)
	st := f.events("/api/v1/events", key)
	st.nextEvent()
	// The data folder holds the face's token for carol: this joins its
	// session.
	local := f.peer("carol")
	if _, err := local.Rename(ctx, "carol2"); err != nil {
		t.Fatal(err)
	}
	f.awaitLeave(left, "carol")
	st.ends()

	send := req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "from carol"}}
	e := f.fails(send, 409, "renamed")
	if !slices.Equal(e.Error.Suggestions, []string{"carol2"}) || !containsAll(e.Error.Message, "carol2", "POST /api/v1/register") {
		t.Errorf("a request after the rename is told %q, suggestions %v; want carol2 and how to take carol back", e.Error.Message, e.Error.Suggestions)
	}
	f.fails(req{method: "POST", path: "/mcp", key: key, body: "{}"}, 409, "renamed")
	var me meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me)
	if me.Name != "carol" {
		t.Errorf("me = %+v, want carol", me)
	}
	if got, err := bob.Check(ctx, 0, 0); err != nil || len(got.Messages) != 0 {
		t.Fatalf("bob's inbox = %+v, %v; want nothing sent as carol2 with carol's key", got.Messages, err)
	}

	// Registering on purpose takes carol back; the local peer stays carol2.
	var reg registerResult
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, &reg)
	if reg.Name != "carol" {
		t.Errorf("register = %+v", reg)
	}
	var sent ipc.SendResult
	f.ok(send, 201, &sent)
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key), MaxRetries: -1}, "")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": "from carol over MCP"}})
	if err != nil || res.IsError {
		t.Fatalf("send: %v %s", err, toolText(res))
	}
	got, err := bob.Check(ctx, 0, 0)
	if err != nil || len(got.Messages) != 2 || got.Messages[0].From != "carol" || got.Messages[1].From != "carol" {
		t.Fatalf("bob's inbox = %+v, %v; want two messages from carol", got.Messages, err)
	}
	if local.Name() != "carol2" {
		t.Errorf("the local peer acts as %q, want carol2", local.Name())
	}
}

// TestUnregisteredElsewhere unregisters a key's name on another
// connection of the face's session, as "ipcmesh unregister" with the
// face's data folder does. The face's peer then acts as no name: the
// face lets it go, and the key's next requests, REST and MCP, register
// the name anew.
func TestUnregisteredElsewhere(t *testing.T) {
	f := newFace(t, nil)
	left := f.leaves()
	key := f.key("dana")
	bob := f.peer("bob")
	ctx := ctxT(t)
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	st := f.events("/api/v1/events", key)
	st.nextEvent()
	local := f.peer("dana")
	if err := local.Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	f.awaitLeave(left, "dana")
	st.ends()

	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, nil)
	var me meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me)
	if me.Name != "dana" || !me.Online {
		t.Errorf("me = %+v, want dana online again", me)
	}
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key), MaxRetries: -1}, "")
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": "dana again"}})
	if err != nil || res.IsError {
		t.Fatalf("send: %v %s", err, toolText(res))
	}
	if got, err := bob.Check(ctx, 0, 0); err != nil || len(got.Messages) != 1 || got.Messages[0].From != "dana" {
		t.Fatalf("bob's inbox = %+v, %v; want the message from dana", got.Messages, err)
	}

	// The same again, with no request in between: a register registers.
	if err := f.peer("dana").Unregister(ctx); err != nil {
		t.Fatal(err)
	}
	f.awaitLeave(left, "dana")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me)
	if !me.Online {
		t.Errorf("me after register = %+v, want online", me)
	}
}

// TestSessionEndedWhileDisconnected unregisters a name while the face's
// connections to the broker are down, so that no push can tell the face:
// its peer finds no session to resume when it is back, the name's event
// stream ends, and the key's next request registers the name anew.
func TestSessionEndedWhileDisconnected(t *testing.T) {
	var px *proxy
	f := newFace(t, func(o *Options) {
		overTCP(o)
		px = newProxy(t, o.Mesh.Addr)
		o.Mesh.Addr = px.addr
	})
	key := f.key("dana")
	inbox := req{method: "GET", path: "/api/v1/messages", key: key}
	f.ok(inbox, 200, nil)
	peer := f.sessionOf("dana").peer
	st := f.events("/api/v1/events", key)
	st.nextEvent()

	px.cut()
	online := func() bool {
		st, err := f.ctl.Status(ctxT(t))
		if err != nil {
			t.Fatal(err)
		}
		return slices.Contains(st.Online, "dana")
	}
	testbin.Eventually(t, 10*time.Second, "the broker to see dana's connection gone", func() bool { return !online() })
	if err := f.peer("dana").Unregister(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	px.resume()
	testbin.Eventually(t, 10*time.Second, "the face's peer to find dana's session gone", func() bool { return peer.Name() == "" })
	// A stream that would hear nothing more ends, with no request of the
	// name to notice it.
	st.ends()

	f.ok(inbox, 200, nil)
	if !online() {
		t.Error("dana is not online after a request")
	}
}
