package ipc_test

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func ids(msgs []ipcmesh.Message) string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	return strings.Join(out, ",")
}

// A check from one sender waits for that sender's next message, through a
// rename while it waits, and leaves other mail unread.
func TestCheckFromWaitsForOneSender(t *testing.T) { forEachStore(t, testCheckFromWaitsForOneSender) }

func testCheckFromWaitsForOneSender(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	me := m.join(t, "me")
	alice := m.join(t, "alice")
	reviewer := m.join(t, "reviewer")
	watcher := m.join(t, "watcher")

	checked := make(chan error, 1)
	var got ipc.CheckResult
	go func() {
		checked <- me.call(ipc.OpCheck, ipc.CheckRequest{From: "reviewer", WaitMS: 600_000}, &got)
	}()
	awaitWaiting(t, watcher, 1)
	other := alice.send(t, "me", "not what you wait for")
	var sess ipc.Session
	reviewer.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "reviewer2"}, &sess)
	awaitWaiting(t, watcher, 1) // still waiting after both
	reply := reviewer.send(t, "me", "looks good")
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if ids(got.Messages) != reply.Message.ID || got.Messages[0].From != "reviewer2" || got.Remaining != 1 {
		t.Fatalf("check from reviewer = %+v, want only %s from reviewer2 and 1 more unread", got, reply.Message.ID)
	}
	if all := me.check(t); ids(all) != other.Message.ID+","+reply.Message.ID {
		t.Errorf("plain check = %s, want alice's message too, unread", ids(all))
	}
	err := me.call(ipc.OpCheck, ipc.CheckRequest{From: "no such/name"}, nil)
	wantCode(t, err, ipcmesh.CodeInvalidName)
}

// Search by sender finds what it sent before a rename.
func TestSearchFromEarlierNames(t *testing.T) { forEachStore(t, testSearchFromEarlierNames) }

func testSearchFromEarlierNames(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	me := m.join(t, "me")
	builder := m.join(t, "builder")
	before := builder.send(t, "me", "sent as builder")
	builder.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "tester"}, nil)
	after := builder.send(t, "me", "sent as tester")
	var res ipc.SearchResult
	me.must(t, ipc.OpSearch, ipc.SearchRequest{Query: "sent", From: "tester"}, &res)
	if want := after.Message.ID + "," + before.Message.ID; ids(res.Messages) != want {
		t.Errorf("search from tester = %s, want %s", ids(res.Messages), want)
	}
}

// History keeps the messages between since and until, of a conversation,
// a channel and a thread.
func TestHistoryBetweenTimes(t *testing.T) { forEachStore(t, testHistoryBetweenTimes) }

func testHistoryBetweenTimes(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	me := m.join(t, "me")
	m.join(t, "reviewer")
	var sent []ipcmesh.Message
	for i := range 3 {
		var res ipc.SendResult
		req := ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reviewer", Content: "note"}}
		if i > 0 {
			req.ReplyTo = sent[0].ID
		}
		me.must(t, ipc.OpSend, req, &res)
		sent = append(sent, res.Message)
	}
	mid := sent[1]
	for _, req := range []ipc.HistoryRequest{
		{With: "reviewer", Since: mid.Time, Until: mid.Time},
		{Thread: sent[0].ID, Since: mid.Time, Until: mid.Time},
	} {
		var r ipc.HistoryResult
		me.must(t, ipc.OpHistory, req, &r)
		if ids(r.Messages) != mid.ID || r.More {
			t.Errorf("history %+v = %s (more %v), want only %s", req, ids(r.Messages), r.More, mid.ID)
		}
	}
	var r ipc.HistoryResult
	me.must(t, ipc.OpHistory, ipc.HistoryRequest{With: "reviewer", Since: mid.Time}, &r)
	if want := sent[2].ID + "," + mid.ID; ids(r.Messages) != want {
		t.Errorf("history since the second = %s, want %s", ids(r.Messages), want)
	}
	err := me.call(ipc.OpHistory, ipc.HistoryRequest{With: "reviewer", Since: mid.Time, Until: sent[0].Time}, nil)
	e := wantCode(t, err, ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, "until", "before since", "swap")
}

// A check after a seq reads on past unread mail it leaves unread: the
// direct messages and channel posts above it, with from only that
// sender's, and waiting, the next message past it.
func TestCheckAfterReadsOn(t *testing.T) { forEachStore(t, testCheckAfterReadsOn) }

func testCheckAfterReadsOn(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	me := m.join(t, "me")
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	watcher := m.join(t, "watcher")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev", Members: []string{"me"}})
	a1 := alice.send(t, "me", "one").Message
	b1 := bob.send(t, "me", "two").Message
	p1 := alice.send(t, "#dev", "three").Message
	a2 := alice.send(t, "me", "four").Message

	var first, next ipc.CheckResult
	me.must(t, ipc.OpCheck, ipc.CheckRequest{Limit: 2}, &first)
	if want := a1.ID + "," + b1.ID; ids(first.Messages) != want || first.Remaining != 2 {
		t.Fatalf("first page = %s (remaining %d), want %s and 2 more", ids(first.Messages), first.Remaining, want)
	}
	me.must(t, ipc.OpCheck, ipc.CheckRequest{Limit: 2, After: b1.Seq}, &next)
	if want := p1.ID + "," + a2.ID; ids(next.Messages) != want {
		t.Fatalf("page after %d = %s, want %s", b1.Seq, ids(next.Messages), want)
	}
	var r ipc.CheckResult
	me.must(t, ipc.OpCheck, ipc.CheckRequest{After: a2.Seq}, &r)
	if len(r.Messages) != 0 || r.Remaining != 0 {
		t.Fatalf("check after the newest = %s (remaining %d), want nothing", ids(r.Messages), r.Remaining)
	}
	me.must(t, ipc.OpCheck, ipc.CheckRequest{From: "alice", After: a1.Seq}, &r)
	if ids(r.Messages) != a2.ID {
		t.Fatalf("check from alice after her first = %s, want %s", ids(r.Messages), a2.ID)
	}
	if all := me.check(t); len(all) != 4 {
		t.Errorf("plain check = %s, want all four still unread", ids(all))
	}

	checked := make(chan error, 1)
	go func() {
		checked <- me.call(ipc.OpCheck, ipc.CheckRequest{After: a2.Seq, WaitMS: 600_000}, &r)
	}()
	awaitWaiting(t, watcher, 1)
	a3 := alice.send(t, "me", "five").Message
	if err := <-checked; err != nil {
		t.Fatal(err)
	}
	if ids(r.Messages) != a3.ID {
		t.Fatalf("waiting check after %d = %s, want only %s", a2.Seq, ids(r.Messages), a3.ID)
	}
}

// A rename to a name renamed away ends that name's forward, as a register
// of it does, and the session says where the forward led; renaming back to
// one's own earlier name ends one's own forward, which is no news.
func TestRenameSaysWhichForwardItEnded(t *testing.T) {
	forEachStore(t, testRenameSaysWhichForwardItEnded)
}

func testRenameSaysWhichForwardItEnded(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	var sess ipc.Session
	bob.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robert"}, &sess)
	if sess.EndedForward != "" {
		t.Errorf("rename to a fresh name ended a forward to %q", sess.EndedForward)
	}
	carol.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "bob"}, &sess)
	if sess.Name != "bob" || sess.EndedForward != "robert" {
		t.Errorf("rename to bob, renamed away to robert: name %q, ended_forward %q, want bob and robert", sess.Name, sess.EndedForward)
	}
	bob.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robbie"}, nil)
	var back ipc.Session
	bob.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robert"}, &back)
	if back.EndedForward != "" {
		t.Errorf("renaming back ended a forward to %q, want none said", back.EndedForward)
	}
}
