package ipc_test

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestOpsNeedRegister(t *testing.T) { forEachStore(t, testOpsNeedRegister) }

func testOpsNeedRegister(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	m.join(t, "bob")
	p := m.dial(t)
	for _, tc := range []struct {
		op   string
		body any
	}{
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "hi"}}},
		{ipc.OpBroadcast, ipc.BroadcastRequest{ID: ipc.NewID(), Content: "hi"}},
		{ipc.OpCheck, ipc.CheckRequest{}},
		{ipc.OpAck, ipc.AckRequest{IDs: []string{"x"}}},
		{ipc.OpFetch, ipc.FetchRequest{ID: "x"}},
		{ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "bob"}},
		{ipc.OpUnregister, nil},
	} {
		err := p.call(tc.op, tc.body, nil)
		e := wantCode(t, err, ipcmesh.CodeNotRegistered)
		wantMention(t, e.Message, tc.op, "register")
	}
	// Ops that need no name work before register.
	p.must(t, ipc.OpList, nil, nil)
	p.must(t, ipc.OpStatus, nil, nil)
	if msgs := m.join(t, "carol").check(t); len(msgs) != 0 {
		t.Fatalf("carol has mail: %+v", msgs)
	}
}

// The sender of a message is the connection's name; a "from" field in the
// request is ignored, not trusted.
func TestFromIsSessionName(t *testing.T) { forEachStore(t, testFromIsSessionName) }

func testFromIsSessionName(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	m.join(t, "mallory")
	id := ipc.NewID()
	body := json.RawMessage(`{"id":"` + id + `","to":"bob","content":"trust me","from":"mallory","From":"mallory","sender":"mallory"}`)
	var res ipc.SendResult
	alice.must(t, ipc.OpSend, body, &res)
	if res.Message.From != "alice" {
		t.Errorf("send result From = %q, want alice", res.Message.From)
	}
	ev := bob.Events.await(t, ipc.EventMessage, nil)
	var pushed ipcmesh.Message
	json.Unmarshal(ev.Body, &pushed)
	if pushed.From != "alice" {
		t.Errorf("pushed From = %q, want alice", pushed.From)
	}
	msgs := bob.check(t)
	if len(msgs) != 1 || msgs[0].From != "alice" || msgs[0].ID != id {
		t.Fatalf("bob's inbox = %+v, want one message from alice", msgs)
	}
	var f ipc.FetchResult
	bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: id}, &f)
	if f.Message.From != "alice" {
		t.Errorf("fetched From = %q, want alice", f.Message.From)
	}

	// The same holds for a broadcast.
	var br ipc.BroadcastResult
	alice.must(t, ipc.OpBroadcast, json.RawMessage(`{"id":"`+ipc.NewID()+`","content":"all","from":"mallory"}`), &br)
	for _, msg := range bob.check(t) {
		if msg.From != "alice" {
			t.Errorf("broadcast copy From = %q, want alice", msg.From)
		}
	}
}

func TestRegisterNameTakenOnline(t *testing.T) { forEachStore(t, testRegisterNameTakenOnline) }

func testRegisterNameTakenOnline(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	m.join(t, "builder")
	m.join(t, "builder-2")
	p := m.dial(t)
	err := p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "builder"}, nil)
	e := wantCode(t, err, ipcmesh.CodeNameTaken)
	wantMention(t, e.Message, "builder", "connected", "free names: "+strings.Join(e.Suggestions, ", "))
	if len(e.Suggestions) == 0 || slices.Contains(e.Suggestions, "builder-2") || slices.Contains(e.Suggestions, "builder") {
		t.Fatalf("suggestions = %v, want free names only", e.Suggestions)
	}
	// A suggestion can be taken at once.
	p.register(t, ipc.RegisterRequest{Name: e.Suggestions[0]})
}

// A name with a valid session and nobody connected as it is still taken:
// only its token claims it.
func TestRegisterNameTakenBySession(t *testing.T) { forEachStore(t, testRegisterNameTakenBySession) }

func testRegisterNameTakenBySession(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	owner := m.dial(t)
	sess := owner.register(t, ipc.RegisterRequest{Name: "idle"})
	// Registering another name on the same connection leaves idle with a
	// valid session and no connection.
	owner.register(t, ipc.RegisterRequest{Name: "busy"})
	var list ipc.ListResult
	owner.must(t, ipc.OpList, nil, &list)
	for _, in := range list.Instances {
		if in.Name == "idle" && in.Online {
			t.Fatal("idle is online after its connection moved to another name")
		}
	}

	p := m.dial(t)
	err := p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "idle"}, nil)
	e := wantCode(t, err, ipcmesh.CodeNameTaken)
	wantMention(t, e.Message, "idle", "token")
	if len(e.Suggestions) == 0 {
		t.Error("name_taken without suggestions")
	}

	// A token for another name, or a forged one, is no claim.
	other := m.dial(t).register(t, ipc.RegisterRequest{Name: "other"})
	err = p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "idle", Token: other.Token}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)
	err = p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "idle", Token: tamper(sess.Token)}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)

	var got ipc.Session
	p.must(t, ipc.OpRegister, ipc.RegisterRequest{Name: "idle", Token: sess.Token}, &got)
	if got.Name != "idle" || !got.Resumed || got.Token == "" {
		t.Fatalf("register with the token = %+v, want idle resumed", got)
	}
}

// tamper changes one character of a token's signature.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) - 3
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestResume(t *testing.T) { forEachStore(t, testResume) }

func testResume(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	first := m.dial(t)
	sess := first.register(t, ipc.RegisterRequest{Name: "worker"})
	m.join(t, "boss").send(t, "worker", "job")

	// A second connection resumes the same session: both act as worker.
	second := m.dial(t)
	var got ipc.Session
	second.must(t, ipc.OpResume, ipc.ResumeRequest{Token: sess.Token, Subscribe: true}, &got)
	if got.Name != "worker" || !got.Resumed || got.Unread != 1 {
		t.Fatalf("resume = %+v, want worker resumed with 1 unread", got)
	}
	if msgs := second.check(t); len(msgs) != 1 || msgs[0].Content != "job" {
		t.Fatalf("worker's mail after resume = %+v", msgs)
	}

	for _, bad := range []string{tamper(sess.Token), "v1.garbage", strings.Repeat("x", 600), sess.Token + "x"} {
		err := m.dial(t).call(ipc.OpResume, ipc.ResumeRequest{Token: bad}, nil)
		e := wantCode(t, err, ipcmesh.CodeUnauthorized)
		wantMention(t, e.Message, "register again")
		if strings.Contains(e.Message, bad) {
			t.Errorf("error %q repeats the token", e.Message)
		}
	}

	// After unregister the token resumes nothing, and the name is free.
	first.must(t, ipc.OpUnregister, nil, nil)
	err := m.dial(t).call(ipc.OpResume, ipc.ResumeRequest{Token: got.Token}, nil)
	e := wantCode(t, err, ipcmesh.CodeUnauthorized)
	wantMention(t, e.Message, "worker", "register again")
	err = second.call(ipc.OpCheck, nil, nil)
	wantCode(t, err, ipcmesh.CodeNotRegistered)
	newcomer := m.dial(t)
	newcomer.register(t, ipc.RegisterRequest{Name: "worker"})
	// Mail outlives the session.
	if msgs := newcomer.check(t); len(msgs) != 1 {
		t.Fatalf("worker's mail after unregister = %+v", msgs)
	}
}

// A register retried with the session id of the first attempt resumes it.
func TestRegisterRetryWithSession(t *testing.T) { forEachStore(t, testRegisterRetryWithSession) }

func testRegisterRetryWithSession(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	sid := ipc.NewID()
	a := m.dial(t).register(t, ipc.RegisterRequest{Name: "retry", Session: sid})
	var b ipc.Session
	m.dial(t).must(t, ipc.OpRegister, ipc.RegisterRequest{Name: "retry", Session: sid}, &b)
	if !b.Resumed || b.Name != "retry" {
		t.Fatalf("retried register = %+v, want resumed", b)
	}
	if a.Resumed {
		t.Error("first register says resumed")
	}
	err := m.dial(t).call(ipc.OpRegister, ipc.RegisterRequest{Name: "retry", Session: ipc.NewID()}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)
	err = m.dial(t).call(ipc.OpRegister, ipc.RegisterRequest{Name: "other", Session: "bad id!"}, nil)
	wantCode(t, err, ipcmesh.CodeBadRequest)
}

func TestRename(t *testing.T) { forEachStore(t, testRename) }

func testRename(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.dial(t)
	old := alice.register(t, ipc.RegisterRequest{Name: "alice", Subscribe: true})
	bob := m.join(t, "bob")
	watcher := m.join(t, "watcher")
	m.join(t, "taken")

	bob.send(t, "alice", "before the rename")

	// Taken names are refused, with free names to pick instead.
	err := alice.call(ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "taken"}, nil)
	e := wantCode(t, err, ipcmesh.CodeNameTaken)
	wantMention(t, e.Message, "taken")
	if len(e.Suggestions) == 0 {
		t.Error("name_taken without suggestions")
	}
	err = alice.call(ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "alice"}, nil)
	wantCode(t, err, ipcmesh.CodeBadRequest)

	// There is no way to name another: fields naming one are ignored.
	rid := ipc.NewID()
	body := json.RawMessage(`{"request_id":"` + rid + `","new_name":"alicia","name":"bob","old":"bob","old_name":"bob"}`)
	var sess ipc.Session
	alice.must(t, ipc.OpRename, body, &sess)
	if sess.Name != "alicia" || sess.Token == "" || sess.Unread != 1 {
		t.Fatalf("rename = %+v, want alicia with 1 unread", sess)
	}
	if msgs := bob.check(t); len(msgs) != 0 {
		t.Errorf("bob's inbox changed: %+v", msgs)
	}
	bob.send(t, "watcher", "bob is still bob")

	// Everyone subscribed hears of it.
	want := func(raw json.RawMessage) bool {
		var ev ipc.RenamedEvent
		return json.Unmarshal(raw, &ev) == nil && ev.Old == "alice" && ev.New == "alicia"
	}
	watcher.Events.await(t, ipc.EventRenamed, want)
	bob.Events.await(t, ipc.EventRenamed, want)

	// The connection acts as the new name, with its mail.
	msgs := alice.check(t)
	if len(msgs) != 1 || msgs[0].To != "alicia" || msgs[0].SentTo != "alice" {
		t.Fatalf("alicia's inbox = %+v, want the message sent to alice", msgs)
	}

	// Mail to the old name is forwarded.
	res := bob.send(t, "alice", "after the rename")
	if !res.Forwarded || res.Message.To != "alicia" || res.Message.SentTo != "alice" || res.Queued {
		t.Fatalf("send to the old name = %+v, want forwarded to alicia", res)
	}
	alice.Events.await(t, ipc.EventMessage, func(raw json.RawMessage) bool {
		var msg ipcmesh.Message
		return json.Unmarshal(raw, &msg) == nil && msg.ID == res.Message.ID && msg.To == "alicia"
	})
	if msgs := alice.check(t); len(msgs) != 2 {
		t.Fatalf("alicia has %d messages, want 2", len(msgs))
	}

	// The old token resumes nothing; the new one does.
	err = m.dial(t).call(ipc.OpResume, ipc.ResumeRequest{Token: old.Token}, nil)
	e = wantCode(t, err, ipcmesh.CodeUnauthorized)
	wantMention(t, e.Message, "alice", "register again")
	var resumed ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: sess.Token}, &resumed)
	if resumed.Name != "alicia" || !resumed.Resumed {
		t.Fatalf("resume with the new token = %+v", resumed)
	}

	// A retried rename returns the same session.
	var again ipc.Session
	alice.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: rid, NewName: "alicia"}, &again)
	if again.Name != "alicia" || again.Token != sess.Token || !again.Resumed {
		t.Fatalf("retried rename = %+v, want the session of the first (%+v)", again, sess)
	}
	// Its id cannot be reused for another rename.
	err = alice.call(ipc.OpRename, ipc.RenameRequest{RequestID: rid, NewName: "alison"}, nil)
	e = wantCode(t, err, ipcmesh.CodeConflict)
	wantMention(t, e.Message, "fresh id")
	err = bob.call(ipc.OpRename, ipc.RenameRequest{RequestID: rid, NewName: "bobby"}, nil)
	wantCode(t, err, ipcmesh.CodeConflict)

	// The old name is free again for anyone; taking it ends the forward.
	m.dial(t).register(t, ipc.RegisterRequest{Name: "alice"})
	if res := bob.send(t, "alice", "to the new alice"); res.Forwarded || res.Message.To != "alice" {
		t.Fatalf("send to a retaken name = %+v, want it delivered to alice", res)
	}
}

// A client whose rename committed just before it lost its broker resumes
// with its old token and the rename's request id, as the new name.
func TestResumeAfterRename(t *testing.T) { forEachStore(t, testResumeAfterRename) }

func testResumeAfterRename(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	p := m.dial(t)
	old := p.register(t, ipc.RegisterRequest{Name: "before"})
	rid := ipc.NewID()
	var renamed ipc.Session
	p.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: rid, NewName: "after"}, &renamed)
	p.Close()

	q := m.dial(t)
	err := q.call(ipc.OpResume, ipc.ResumeRequest{Token: old.Token}, nil)
	wantCode(t, err, ipcmesh.CodeUnauthorized)
	err = q.call(ipc.OpResume, ipc.ResumeRequest{Token: old.Token, RenameRequest: ipc.NewID()}, nil)
	wantCode(t, err, ipcmesh.CodeUnauthorized)
	var got ipc.Session
	q.must(t, ipc.OpResume, ipc.ResumeRequest{Token: old.Token, RenameRequest: rid}, &got)
	if got.Name != "after" || !got.Resumed {
		t.Fatalf("resume with the rename request = %+v, want after", got)
	}
	// The request id does not help a token of another name.
	other := m.dial(t).register(t, ipc.RegisterRequest{Name: "other"})
	var o ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: other.Token, RenameRequest: rid}, &o)
	if o.Name != "other" {
		t.Fatalf("resume of other with someone's rename id = %+v", o)
	}
}

// The rename's request id picks up the new name only with a token of the
// session that rename moved, the one its client held: a token of the old
// name from an earlier or a later session of it is refused, though it has
// not expired and its session has ended as the renamed one has.
func TestResumeAfterRenameNeedsTheRenamedSession(t *testing.T) {
	forEachStore(t, testResumeAfterRenameNeedsTheRenamedSession)
}

func testResumeAfterRenameNeedsTheRenamedSession(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	watcher := m.join(t, "watcher")
	earlier := m.dial(t)
	early := earlier.register(t, ipc.RegisterRequest{Name: "before"})
	earlier.must(t, ipc.OpUnregister, nil, nil)

	// The rename's client never reads its answer, and loses its
	// connection once the rename is done.
	r := m.rawAuthed(t)
	f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "before"})
	var old ipc.Session
	if f.Error != nil || json.Unmarshal(f.Body, &old) != nil || old.Token == "" {
		t.Fatalf("register before: %+v", f)
	}
	rid := ipc.NewID()
	body, _ := json.Marshal(ipc.RenameRequest{RequestID: rid, NewName: "after"})
	if err := r.write(&ipc.Frame{ID: r.id + 1, Op: ipc.OpRename, Body: body}); err != nil {
		t.Fatal(err)
	}
	watcher.Events.await(t, ipc.EventRenamed, nil)
	r.nc.Close()

	later := m.dial(t)
	late := later.register(t, ipc.RegisterRequest{Name: "before"})
	later.must(t, ipc.OpUnregister, nil, nil)

	for _, tc := range []struct{ session, token string }{{"earlier", early.Token}, {"later", late.Token}} {
		var got ipc.Session
		err := m.dial(t).call(ipc.OpResume, ipc.ResumeRequest{Token: tc.token, RenameRequest: rid}, &got)
		if err == nil {
			t.Fatalf("a token of an %s session of before with the rename's request id resumed %+v", tc.session, got)
		}
		e := wantCode(t, err, ipcmesh.CodeUnauthorized)
		wantMention(t, e.Message, "before", "another session", "after", "register again")
	}
	var got ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: old.Token, RenameRequest: rid}, &got)
	if got.Name != "after" || !got.Resumed {
		t.Fatalf("resume with the renamed session's token and the rename's request id = %+v, want after", got)
	}
}

// The rename's request id picks up the new name only with a token the
// client could still resume with: an expired token of the old name claims
// nothing, here as anywhere.
func TestResumeAfterRenameNeedsALiveToken(t *testing.T) {
	forEachStore(t, testResumeAfterRenameNeedsALiveToken)
}

func testResumeAfterRenameNeedsALiveToken(t *testing.T, kind storeKind) {
	clock := &testClock{t: time.Now()}
	m := startMeshOn(t, kind, func(o *meshOptions) {
		o.Config.Now = clock.Now
		o.Config.SessionTTL = time.Hour
	})
	p := m.dial(t)
	old := p.register(t, ipc.RegisterRequest{Name: "before"})
	clock.Advance(30 * time.Minute)
	rid := ipc.NewID()
	var renamed ipc.Session
	p.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: rid, NewName: "after"}, &renamed)
	p.Close()
	// The old token has expired; the session the rename made has a quarter
	// of an hour left.
	clock.Advance(45 * time.Minute)

	var got ipc.Session
	err := m.dial(t).call(ipc.OpResume, ipc.ResumeRequest{Token: old.Token, RenameRequest: rid}, &got)
	if err == nil {
		t.Fatalf("an expired token of before with the rename's request id resumed %+v", got)
	}
	wantCode(t, err, ipcmesh.CodeUnauthorized)
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: renamed.Token}, &got)
	if got.Name != "after" {
		t.Fatalf("resume with the renamed session's token = %+v, want after", got)
	}
}

func TestRenameWhileChecking(t *testing.T) { forEachStore(t, testRenameWhileChecking) }

func testRenameWhileChecking(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	p := m.join(t, "mover")
	q := m.dial(t)
	q.Session = q.register(t, ipc.RegisterRequest{Name: "mover", Token: p.Session.Token})
	done := make(chan ipc.CheckResult, 1)
	go func() {
		var res ipc.CheckResult
		q.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 60_000}, &res)
		done <- res
	}()
	p.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "moved"}, nil)
	m.join(t, "sender").send(t, "moved", "found you")
	res := <-done
	if len(res.Messages) != 1 || res.Messages[0].To != "moved" {
		t.Fatalf("the waiting check on the other connection got %+v", res)
	}
}

// A check waiting on a connection that loses its name (another connection
// of the same session unregistered it) ends at once with not_registered:
// it neither waits out its time nor reads the inbox of whoever registers
// the name next.
func TestCheckStopsWhenNameIsLost(t *testing.T) { forEachStore(t, testCheckStopsWhenNameIsLost) }

func testCheckStopsWhenNameIsLost(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	first := m.join(t, "alice")
	second := m.dial(t)
	second.must(t, ipc.OpResume, ipc.ResumeRequest{Token: first.Session.Token}, nil)

	checked := make(chan error, 1)
	var got ipc.CheckResult
	go func() { checked <- first.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, &got) }()
	awaitWaiting(t, second, 1)
	second.must(t, ipc.OpUnregister, nil, nil)
	// Only the unregister can end this check before callTimeout.
	err := <-checked
	if err == nil {
		t.Fatalf("the waiting check of an unregistered connection returned %+v", got.Messages)
	}
	e := wantCode(t, err, ipcmesh.CodeNotRegistered)
	wantMention(t, e.Message, "register again")
	awaitWaiting(t, second, 0)

	newcomer := m.dial(t)
	newcomer.register(t, ipc.RegisterRequest{Name: "alice"})
	m.join(t, "bob").send(t, "alice", "for the new alice only")
	err = first.call(ipc.OpCheck, ipc.CheckRequest{}, nil)
	wantCode(t, err, ipcmesh.CodeNotRegistered)
	if msgs := newcomer.check(t); len(msgs) != 1 {
		t.Fatalf("the new alice has %d messages, want 1", len(msgs))
	}
}

// testClock is a settable clock for Config.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// A connection whose session expired while it stayed connected can
// register its own name again; nobody else can take it meanwhile.
func TestRegisterOwnNameAfterExpiry(t *testing.T) { forEachStore(t, testRegisterOwnNameAfterExpiry) }

func testRegisterOwnNameAfterExpiry(t *testing.T, kind storeKind) {
	clock := &testClock{t: time.Now()}
	m := startMeshOn(t, kind, func(o *meshOptions) {
		o.Config.Now = clock.Now
		o.Config.SessionTTL = time.Hour
	})
	p := m.join(t, "longlived")
	clock.Advance(2 * time.Hour)

	err := m.dial(t).call(ipc.OpRegister, ipc.RegisterRequest{Name: "longlived"}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)

	var s ipc.Session
	p.must(t, ipc.OpRegister, ipc.RegisterRequest{Name: "longlived", Subscribe: true}, &s)
	if s.Name != "longlived" || !s.Expires.After(clock.Now()) {
		t.Fatalf("register of its own name = %+v", s)
	}
	var r ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: s.Token}, &r)
}

// A session lasts its whole TTL, token included, whatever the fraction of
// a second it was made at: the token's expiry, in whole seconds, is
// rounded up. A peer renews at a quarter of the TTL, so with a short TTL
// a token rounded down could be expired by then.
func TestShortSessionLastsItsTTL(t *testing.T) { forEachStore(t, testShortSessionLastsItsTTL) }

func testShortSessionLastsItsTTL(t *testing.T, kind storeKind) {
	clock := &testClock{t: time.Unix(1_800_000_000, 900_000_000)} // x.9 s
	m := startMeshOn(t, kind, func(o *meshOptions) {
		o.Config.Now = clock.Now
		o.Config.SessionTTL = time.Second
	})
	s := m.dial(t).register(t, ipc.RegisterRequest{Name: "brief"})
	if want := clock.Now().Add(time.Second); s.Expires.Before(want) {
		t.Fatalf("a session made with a TTL of 1s expires at %v, before %v", s.Expires, want)
	}
	clock.Advance(250 * time.Millisecond)
	var r ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: s.Token}, &r)
}

// An unregister tells the name's subscribed connections, the one that
// sent it included, that they act as no name now: nothing else would, as
// an unbound connection is pushed nothing more. Other names hear nothing.
func TestUnregisterTellsTheNamesConnections(t *testing.T) {
	forEachStore(t, testUnregisterTellsTheNamesConnections)
}

func testUnregisterTellsTheNamesConnections(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	first := m.join(t, "alice")
	second := m.dial(t)
	second.must(t, ipc.OpResume, ipc.ResumeRequest{Token: first.Session.Token, Subscribe: true}, nil)
	bob := m.join(t, "bob")

	second.must(t, ipc.OpUnregister, nil, nil)
	alice := func(raw json.RawMessage) bool {
		var ev ipc.UnregisteredEvent
		return json.Unmarshal(raw, &ev) == nil && ev.Name == "alice"
	}
	first.Events.await(t, ipc.EventUnregistered, alice)
	second.Events.await(t, ipc.EventUnregistered, alice)

	// Pushes come in order: had bob been told, it would be before this.
	sent := m.join(t, "carol").send(t, "bob", "after the unregister")
	bob.Events.await(t, ipc.EventMessage, isMessage(sent.Message.ID))
	if n := bob.Events.count(ipc.EventUnregistered); n != 0 {
		t.Errorf("bob was told of %d unregisters of another name", n)
	}
}

// A session made under a secret the mesh no longer has is over: every
// token of it stopped working with the change (SECURITY.md 3.8), and its
// name can be registered again at once, not a day later. Sessions made
// under the new secret hold their names as before.
func TestSecretChangeFreesTheNamesOfItsSessions(t *testing.T) {
	m := startMesh(t, nil)
	owner := m.dial(t)
	old := owner.register(t, ipc.RegisterRequest{Name: "idle"})
	owner.register(t, ipc.RegisterRequest{Name: "busy"}) // idle: a live session, nobody connected
	m.shutdown(t)

	st := m.reopen(t)
	var o meshOptions
	o.Config.Keys = newKeys(t) // the secret was changed
	changed := serveMesh(t, st, o)
	p := changed.dial(t)
	if err := p.call(ipc.OpResume, ipc.ResumeRequest{Token: old.Token}, nil); ipcmesh.CodeOf(err) != ipcmesh.CodeUnauthorized {
		t.Fatalf("resume with a token of the old secret: %v, want unauthorized", err)
	}
	s := p.register(t, ipc.RegisterRequest{Name: "idle"})
	if s.Resumed {
		t.Errorf("register of idle under the new secret resumed the old session: %+v", s)
	}
	var renamed ipc.Session
	p2 := changed.dial(t)
	p2.register(t, ipc.RegisterRequest{Name: "mover"})
	p2.must(t, ipc.OpRename, ipc.RenameRequest{NewName: "busy", RequestID: ipc.NewID()}, &renamed)
	if renamed.Name != "busy" {
		t.Errorf("rename to busy, held by a session of the old secret = %+v, want busy", renamed)
	}

	// idle's new session holds it as sessions do.
	p.register(t, ipc.RegisterRequest{Name: "elsewhere"})
	err := changed.dial(t).call(ipc.OpRegister, ipc.RegisterRequest{Name: "idle"}, nil)
	wantCode(t, err, ipcmesh.CodeNameTaken)
}
