package ipc_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

func TestCheckAndAck(t *testing.T) { forEachStore(t, testCheckAndAck) }

func testCheckAndAck(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	var sent []string
	for i := range 5 {
		sent = append(sent, alice.send(t, "bob", fmt.Sprintf("m%d", i)).Message.ID)
	}
	// Oldest first, and nothing is marked read by reading.
	for range 2 {
		msgs := bob.check(t)
		if len(msgs) != 5 {
			t.Fatalf("bob has %d messages, want 5", len(msgs))
		}
		for i, msg := range msgs {
			if msg.ID != sent[i] || msg.Content != fmt.Sprintf("m%d", i) || msg.From != "alice" || msg.To != "bob" {
				t.Fatalf("message %d = %+v, want %s", i, msg, sent[i])
			}
		}
	}
	// A page says how many are left.
	var page ipc.CheckResult
	bob.must(t, ipc.OpCheck, ipc.CheckRequest{Limit: 2}, &page)
	if len(page.Messages) != 2 || page.Remaining != 3 || page.Messages[0].ID != sent[0] {
		t.Fatalf("page of 2 = %d messages, %d remaining", len(page.Messages), page.Remaining)
	}

	var ack ipc.AckResult
	bob.must(t, ipc.OpAck, ipc.AckRequest{IDs: sent[:2]}, &ack)
	if ack.Acked != 2 {
		t.Fatalf("acked %d, want 2", ack.Acked)
	}
	// Acking again, or acking what is not bob's, changes nothing.
	bob.must(t, ipc.OpAck, ipc.AckRequest{IDs: append(sent[:2:2], "nosuchid", "")}, &ack)
	if ack.Acked != 0 {
		t.Fatalf("second ack acked %d, want 0", ack.Acked)
	}
	carolMsg := alice.send(t, "carol", "for carol")
	bob.must(t, ipc.OpAck, ipc.AckRequest{IDs: []string{carolMsg.Message.ID}}, &ack)
	if ack.Acked != 0 {
		t.Fatalf("bob acked carol's message")
	}
	msgs := bob.check(t)
	if len(msgs) != 3 || msgs[0].ID != sent[2] {
		t.Fatalf("after the ack bob has %+v", msgs)
	}
	// Read messages can still be fetched by their sender and recipient,
	// by no one else.
	var f ipc.FetchResult
	bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: sent[0]}, &f)
	alice.must(t, ipc.OpFetch, ipc.FetchRequest{ID: sent[0]}, &f)
	if f.Content != "m0" {
		t.Errorf("fetched %q, want m0", f.Content)
	}
	err := m.join(t, "eve").call(ipc.OpFetch, ipc.FetchRequest{ID: sent[0]}, nil)
	wantCode(t, err, ipcmesh.CodeNotFound)

	err = bob.call(ipc.OpAck, ipc.AckRequest{IDs: []string{strings.Repeat("x", 300)}}, nil)
	wantCode(t, err, ipcmesh.CodeBadRequest)
	err = bob.call(ipc.OpAck, ipc.AckRequest{IDs: make([]string, 10001)}, nil)
	e := wantCode(t, err, ipcmesh.CodeTooLarge)
	wantMention(t, e.Message, "10000", "pages")
}

// A check that waits is answered when mail comes, not when its time is up.
func TestCheckWaitWokenBySend(t *testing.T) { forEachStore(t, testCheckWaitWokenBySend) }

func testCheckWaitWokenBySend(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	waiter := m.dial(t)
	waiter.register(t, ipc.RegisterRequest{Name: "waiter"})
	sender := m.join(t, "sender")
	for i := range 5 {
		got := make(chan ipc.CheckResult, 1)
		errs := make(chan error, 1)
		go func() {
			var res ipc.CheckResult
			// Longer than callTimeout: only the send can end this wait
			// before the test gives up.
			if err := waiter.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, &res); err != nil {
				errs <- err
				return
			}
			got <- res
		}()
		res := sender.send(t, "waiter", fmt.Sprintf("wake %d", i))
		select {
		case r := <-got:
			if len(r.Messages) != 1 || r.Messages[0].ID != res.Message.ID {
				t.Fatalf("check woke with %+v, want the message just sent", r)
			}
		case err := <-errs:
			t.Fatalf("waiting check: %v", err)
		}
		waiter.must(t, ipc.OpAck, ipc.AckRequest{IDs: []string{res.Message.ID}}, nil)
	}
	// A wait with no mail ends empty when its time is up.
	var res ipc.CheckResult
	waiter.must(t, ipc.OpCheck, ipc.CheckRequest{WaitMS: 20}, &res)
	if res.Messages == nil || len(res.Messages) != 0 {
		t.Fatalf("check with an empty inbox = %+v, want an empty list", res)
	}
}

// TestWaitPastDurationRange: a wait asked for in milliseconds past what
// time.Duration holds is the longest wait, not one that wrapped around:
// 2^62 ms as a Duration of nanoseconds wraps to exactly 0, which made such
// a check return at once with nothing. A client may ask it; the broker
// caps it.
func TestWaitPastDurationRange(t *testing.T) { forEachStore(t, testWaitPastDurationRange) }

func testWaitPastDurationRange(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	const forever = 1 << 62

	answers := make(chan any, 1)
	errs := make(chan error, 1)
	// ask makes p's call in the background and returns once the broker
	// holds it waiting, as waiting tells; a call answered first fails.
	ask := func(p *peer, op string, in, out any, waiting func() bool) {
		go func() {
			if err := p.call(op, in, out); err != nil {
				errs <- err
				return
			}
			answers <- out
		}()
		testbin.Eventually(t, callTimeout, op+" waiting", func() bool {
			select {
			case r := <-answers:
				t.Fatalf("%s asked to wait 2^62 ms returned at once: %+v", op, r)
			case err := <-errs:
				t.Fatal(err)
			default:
			}
			return waiting()
		})
	}
	answer := func() any {
		select {
		case r := <-answers:
			return r
		case err := <-errs:
			t.Fatal(err)
			return nil
		}
	}

	var checked ipc.CheckResult
	ask(alice, ipc.OpCheck, ipc.CheckRequest{WaitMS: forever}, &checked, func() bool {
		var st ipc.StatusResult
		bob.must(t, ipc.OpStatus, nil, &st)
		return st.Waiting == 1
	})
	sent := bob.send(t, "alice", "wake up")
	answer()
	if len(checked.Messages) != 1 || checked.Messages[0].ID != sent.Message.ID {
		t.Fatalf("the check woke with %+v, want the message sent", checked)
	}

	var replied ipc.WaitReplyResult
	ask(bob, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: sent.Message.ID, WaitMS: forever}, &replied, func() bool {
		return m.Broker.ThreadWaiters() == 1
	})
	reply := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "awake", ReplyTo: sent.Message.ID}}).Message
	answer()
	if len(replied.Messages) != 1 || replied.Messages[0].ID != reply.ID {
		t.Fatalf("the wait_reply woke with %+v, want the reply", replied)
	}
}

func TestPushedMessageEvent(t *testing.T) { forEachStore(t, testPushedMessageEvent) }

func testPushedMessageEvent(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	quiet := m.dial(t)
	quiet.register(t, ipc.RegisterRequest{Name: "quiet"}) // not subscribed

	res := alice.send(t, "bob", "ping")
	if !res.Online {
		t.Error("send to a connected recipient says it is not online")
	}
	ev := bob.Events.await(t, ipc.EventMessage, nil)
	var msg ipcmesh.Message
	if err := json.Unmarshal(ev.Body, &msg); err != nil {
		t.Fatal(err)
	}
	if msg.ID != res.Message.ID || msg.Content != "ping" || msg.From != "alice" || msg.Seq != res.Message.Seq {
		t.Fatalf("pushed %+v, want %+v", msg, res.Message)
	}

	if res := alice.send(t, "quiet", "psst"); !res.Online {
		t.Error("an unsubscribed recipient that is connected is online too")
	}
	// The answer to a later request comes after any event pushed before it.
	quiet.must(t, ipc.OpStatus, nil, nil)
	if n := quiet.Events.count(ipc.EventMessage); n != 0 {
		t.Errorf("a connection that did not subscribe got %d message events", n)
	}
	if n := alice.Events.count(ipc.EventMessage); n != 0 {
		t.Errorf("the sender got %d message events", n)
	}
	if msgs := quiet.check(t); len(msgs) != 1 {
		t.Errorf("quiet has %d messages, want 1", len(msgs))
	}
}

// A message is pushed while its commit is still under way, so the
// recipient often hears of it before the disk has it. A check or fetch made
// on that push must still find it: "you have mail" followed by an empty
// inbox is the one thing a push must never say.
func TestCheckOnAPushFindsTheMessage(t *testing.T) { forEachStore(t, testCheckOnAPushFindsTheMessage) }

func testCheckOnAPushFindsTheMessage(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	type seen struct {
		id               string
		checked, fetched bool
		err              error
	}
	results := make(chan seen, 64)
	var bob *peer
	ready := make(chan struct{})
	bob, err := m.tryDial(m.Keys, ipc.DialOptions{OnEvent: func(ev ipc.Event) {
		var msg ipcmesh.Message
		if ev.Name != ipc.EventMessage || json.Unmarshal(ev.Body, &msg) != nil {
			return
		}
		// The read loop must not block: ask from another goroutine, at once.
		go func() {
			<-ready
			r := seen{id: msg.ID}
			var cr ipc.CheckResult
			if r.err = bob.call(ipc.OpCheck, ipc.CheckRequest{Limit: 1000}, &cr); r.err == nil {
				r.checked = slices.ContainsFunc(cr.Messages, func(c ipcmesh.Message) bool { return c.ID == msg.ID })
				var fr ipc.FetchResult
				r.err = bob.call(ipc.OpFetch, ipc.FetchRequest{ID: msg.ID}, &fr)
				r.fetched = fr.Message.ID == msg.ID
			}
			results <- r
		}()
	}})
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { bob.Close() })
	bob.register(t, ipc.RegisterRequest{Name: "bob", Subscribe: true})
	close(ready)

	const n = 40
	for i := range n {
		alice.send(t, "bob", fmt.Sprintf("message %d", i))
	}
	for range n {
		var r seen
		select {
		case r = <-results:
		case <-time.After(callTimeout):
			t.Fatal("a pushed message never arrived")
		}
		if r.err != nil || !r.checked || !r.fetched {
			t.Errorf("on the push of %s: check found it %v, fetch found it %v, err %v", r.id, r.checked, r.fetched, r.err)
		}
	}
}

func TestBroadcast(t *testing.T) { forEachStore(t, testBroadcast) }

func testBroadcast(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	names := []string{"ann", "ben", "cat", "dan"}
	peers := map[string]*peer{}
	for _, n := range names {
		peers[n] = m.join(t, n)
	}
	// An instance with a session but no connection is reached too.
	idle := m.dial(t)
	idle.register(t, ipc.RegisterRequest{Name: "eli"})
	idle.register(t, ipc.RegisterRequest{Name: "fay"})

	id := ipc.NewID()
	var res ipc.BroadcastResult
	peers["ann"].must(t, ipc.OpBroadcast, ipc.BroadcastRequest{ID: id, Content: "all hands"}, &res)
	got := slices.Sorted(slices.Values(res.Recipients))
	if want := []string{"ben", "cat", "dan", "eli", "fay"}; !slices.Equal(got, want) {
		t.Fatalf("recipients = %v, want %v", got, want)
	}
	if slices.Contains(res.Online, "eli") || !slices.Contains(res.Online, "ben") {
		t.Errorf("online = %v", res.Online)
	}
	for _, n := range names[1:] {
		msgs := peers[n].check(t)
		if len(msgs) != 1 || !msgs[0].Broadcast || msgs[0].From != "ann" || msgs[0].To != n || msgs[0].ID != id+"."+n {
			t.Fatalf("%s has %+v, want one broadcast copy", n, msgs)
		}
		peers[n].Events.await(t, ipc.EventMessage, nil)
	}
	if msgs := peers["ann"].check(t); len(msgs) != 0 {
		t.Errorf("the sender got its own broadcast: %+v", msgs)
	}
	if msgs := idle.check(t); len(msgs) != 1 || msgs[0].To != "fay" {
		t.Errorf("fay has %+v", msgs)
	}
	// A retried broadcast stores nothing new.
	peers["ann"].must(t, ipc.OpBroadcast, ipc.BroadcastRequest{ID: id, Content: "all hands"}, &res)
	if msgs := peers["ben"].check(t); len(msgs) != 1 {
		t.Errorf("after a retried broadcast ben has %d messages", len(msgs))
	}
}

// A broadcast sent again with its id (its answer was lost) after some of
// its recipients renamed: ben, whose copy was unread, is bert now and
// has it in his inbox; cat, who read hers, is cass now. Neither must get
// a second copy, and the answer says both had theirs, under their names
// of now; dan, who missed the first try, gets one.
func TestBroadcastSentAgainAfterARename(t *testing.T) {
	forEachStore(t, testBroadcastSentAgainAfterARename)
}

func testBroadcastSentAgainAfterARename(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	ann, ben, cat := m.join(t, "ann"), m.join(t, "ben"), m.join(t, "cat")
	id := ipc.NewID()
	req := ipc.BroadcastRequest{ID: id, Content: "all hands"}
	ann.must(t, ipc.OpBroadcast, req, nil)
	if msgs := cat.check(t); len(msgs) != 1 {
		t.Fatalf("cat has %+v, want the broadcast's copy", msgs)
	}
	cat.must(t, ipc.OpAck, ipc.AckRequest{IDs: []string{id + ".cat"}}, nil)
	ben.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "bert"}, nil)
	cat.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "cass"}, nil)
	dan := m.join(t, "dan")

	var res ipc.BroadcastResult
	ann.must(t, ipc.OpBroadcast, req, &res)
	if got, want := slices.Sorted(slices.Values(res.Recipients)), []string{"bert", "cass", "dan"}; !slices.Equal(got, want) {
		t.Errorf("recipients of the broadcast sent again = %v, want %v", got, want)
	}
	if got, want := slices.Sorted(slices.Values(res.Duplicate)), []string{"bert", "cass"}; !slices.Equal(got, want) {
		t.Errorf("had their copy already = %v, want %v", got, want)
	}
	if msgs := ben.check(t); len(msgs) != 1 || msgs[0].ID != id+".ben" || msgs[0].To != "bert" {
		t.Errorf("bert (ben before) has %+v, want the one copy sent to ben", msgs)
	}
	if msgs := cat.check(t); len(msgs) != 0 {
		t.Errorf("cass (cat before), who read her copy, has %+v, want nothing new", msgs)
	}
	if msgs := dan.check(t); len(msgs) != 1 || msgs[0].ID != id+".dan" {
		t.Errorf("dan has %+v, want his copy", msgs)
	}
}

func TestSendToUnknownName(t *testing.T) { forEachStore(t, testSendToUnknownName) }

func testSendToUnknownName(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	m.join(t, "builder")
	alice := m.join(t, "alice")
	res := alice.send(t, "buidler", "typo")
	if !res.Queued || res.QueueDays != 7 || res.Online {
		t.Fatalf("send to a never-registered name = %+v, want queued for 7 days", res)
	}
	if !slices.Contains(res.Suggestions, "builder") {
		t.Errorf("suggestions = %v, want builder", res.Suggestions)
	}
	// The message waits for the name.
	p := m.dial(t)
	sess := p.register(t, ipc.RegisterRequest{Name: "buidler"})
	if sess.Unread != 1 {
		t.Errorf("new instance has %d unread, want 1", sess.Unread)
	}
	if msgs := p.check(t); len(msgs) != 1 || msgs[0].Content != "typo" {
		t.Fatalf("queued mail = %+v", msgs)
	}
	if res := alice.send(t, "buidler", "again"); res.Queued || len(res.Suggestions) != 0 {
		t.Errorf("send to a registered name = %+v", res)
	}
}

// A message to one of the sender's own former names, which the rename
// forwards would bring back to its own inbox, is refused, a reply too;
// posts, broadcasts and everyone else's mail to that name are not.
func TestSendToOwnFormerName(t *testing.T) { forEachStore(t, testSendToOwnFormerName) }

func testSendToOwnFormerName(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	builder := m.join(t, "builder")
	reviewer := m.join(t, "reviewer")
	builder.createChannel(t, ipc.ChannelCreateRequest{Name: "ops", Members: []string{"reviewer"}})
	builder.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "builder2"}, nil)

	e := builder.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "builder", Content: "for whoever builds"}})
	wantMention(t, e.Message, "builder is your own former name (you are builder2 now)", "your own inbox", "nothing was sent")
	q := reviewer.send(t, "builder2", "can you build?")
	e = builder.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "builder", Content: "yes", ReplyTo: q.Message.ID}})
	wantMention(t, e.Message, "builder is your own former name (you are builder2 now)")
	// Along a chain of renames, every former name is one's own.
	builder.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "builder3"}, nil)
	for _, old := range []string{"builder", "builder2"} {
		e = builder.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: old, Content: "hello?"}})
		wantMention(t, e.Message, old+" is your own former name (you are builder3 now)")
	}
	if msgs := builder.check(t); len(msgs) != 1 || msgs[0].From != "reviewer" {
		t.Fatalf("builder3's inbox = %+v, want only reviewer's question", msgs)
	}

	if res := reviewer.send(t, "builder", "still there?"); !res.Forwarded || res.Message.To != "builder3" {
		t.Errorf("reviewer's send to builder = %+v, want it forwarded to builder3", res)
	}
	if res := builder.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#ops", Content: "deploying"}}); res.Members != 1 {
		t.Errorf("builder3's post = %+v, want it delivered to reviewer", res)
	}
	var b ipc.BroadcastResult
	builder.must(t, ipc.OpBroadcast, ipc.BroadcastRequest{ID: ipc.NewID(), Content: "all hands"}, &b)
	if !slices.Equal(b.Recipients, []string{"reviewer"}) {
		t.Errorf("builder3's broadcast reached %v, want reviewer", b.Recipients)
	}
	// A note to self by one's own name is the sender's to make.
	if res := builder.send(t, "builder3", "note to self"); res.Message.To != "builder3" || res.Forwarded {
		t.Errorf("send to builder3 from itself = %+v", res)
	}
	// Once another instance takes the old name back, it is no longer
	// builder3's.
	m.join(t, "builder")
	if res := builder.send(t, "builder", "welcome"); res.Forwarded || res.Message.To != "builder" {
		t.Errorf("send to the retaken builder = %+v, want it delivered to builder", res)
	}
}

func TestDuplicateSend(t *testing.T) { forEachStore(t, testDuplicateSend) }

func testDuplicateSend(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	req := ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "once"}}
	var first, second ipc.SendResult
	alice.must(t, ipc.OpSend, req, &first)
	alice.must(t, ipc.OpSend, req, &second)
	if first.Duplicate || !second.Duplicate {
		t.Fatalf("duplicate flags = %v, %v, want false, true", first.Duplicate, second.Duplicate)
	}
	if second.Message.Seq != first.Message.Seq || second.Message.ID != req.ID {
		t.Errorf("retry returned %+v, want the first message %+v", second.Message, first.Message)
	}
	if msgs := bob.check(t); len(msgs) != 1 {
		t.Fatalf("bob has %d messages, want 1", len(msgs))
	}
	// Another sender cannot reuse the id.
	err := m.join(t, "mallory").call(ipc.OpSend, req, nil)
	e := wantCode(t, err, ipcmesh.CodeConflict)
	wantMention(t, e.Message, "new id")
	if msgs := bob.check(t); len(msgs) != 1 || msgs[0].From != "alice" {
		t.Fatalf("bob has %+v", msgs)
	}
}

func TestLargeMessage(t *testing.T) { forEachStore(t, testLargeMessage) }

func testLargeMessage(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	line := "0123456789 abcdefghijklmnopqrstuvwxyz <tag> & \"quoted\" ünïcødé\n"
	body := strings.Repeat(line, 400) + "FAIL: the line that matters\n" + strings.Repeat(line, 400) // ~54 KB
	res := alice.send(t, "bob", body)
	ev := bob.Events.await(t, ipc.EventMessage, nil)
	var pushed ipcmesh.Message
	json.Unmarshal(ev.Body, &pushed)

	msgs := bob.check(t)
	if len(msgs) != 1 {
		t.Fatalf("bob has %d messages", len(msgs))
	}
	for _, msg := range []ipcmesh.Message{res.Message, pushed, msgs[0]} {
		if !msg.Large || msg.Size != len(body) {
			t.Errorf("message = large %v size %d, want large of %d bytes", msg.Large, msg.Size, len(body))
		}
		// On a cluster, the body is in the broker's view, in the data
		// folder too.
		if filepath.Base(filepath.Dir(msg.Path)) != "large-messages" || !strings.HasPrefix(msg.Path, m.Dir+string(filepath.Separator)) {
			t.Errorf("path %q is not in a large-messages folder of the data folder %s", msg.Path, m.Dir)
		}
		// The reader sees the line that stands out, not only the start.
		if len(msg.Content) > store.SummaryMax || !strings.Contains(msg.Content, "801 lines") ||
			!strings.Contains(msg.Content, "\n1: "+strings.TrimSpace(line)+"\n") || !strings.Contains(msg.Content, "\n401: FAIL: the line that matters\n") {
			t.Errorf("summary of %d bytes: %q", len(msg.Content), msg.Content)
		}
	}
	var f ipc.FetchResult
	bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: res.Message.ID}, &f)
	if f.Content != body {
		t.Fatalf("fetched %d bytes, want the whole body of %d", len(f.Content), len(body))
	}
}

func TestMaxMessage(t *testing.T) { forEachStore(t, testMaxMessage) }

func testMaxMessage(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	// 8 MiB, every byte value that survives JSON as text.
	var b strings.Builder
	for b.Len() < 8<<20 {
		fmt.Fprintf(&b, "line %d: the quick brown fox <jumps> over the lazy dog & co.\t\"ok\"\n", b.Len())
	}
	body := b.String()[:8<<20]
	res := alice.send(t, "bob", body)
	if res.Message.Size != 8<<20 {
		t.Fatalf("stored size %d", res.Message.Size)
	}
	var f ipc.FetchResult
	bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: res.Message.ID}, &f)
	if f.Content != body {
		t.Fatalf("fetched %d bytes, not the body sent", len(f.Content))
	}

	err := alice.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: body + "!"}}, nil)
	e := wantCode(t, err, ipcmesh.CodeTooLarge)
	wantMention(t, e.Message, "limit", "split")
	// A body under the message limit whose JSON escaping passes the frame
	// limit (a control character takes six bytes) is refused by the client
	// itself, not by a broker hanging up.
	err = alice.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: strings.Repeat("\x01", 3<<20)}}, nil)
	e = wantCode(t, err, ipcmesh.CodeTooLarge)
	// It says why 3 MiB came to 18: the sender can see nothing over a
	// limit in what it gave.
	wantMention(t, e.Message, "frame limit", "3145728 characters", "six bytes")
	// The connection carries on.
	alice.send(t, "bob", "small")
	if msgs := bob.check(t); len(msgs) != 2 {
		t.Fatalf("bob has %d messages, want 2", len(msgs))
	}
}

func TestInboxFull(t *testing.T) { forEachStore(t, testInboxFull) }

func testInboxFull(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, func(o *meshOptions) { o.Store = store.Options{InboxCap: 3} })
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	for range 3 {
		alice.send(t, "bob", "fill")
	}
	err := alice.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "one more"}}, nil)
	e := wantCode(t, err, ipcmesh.CodeInboxFull)
	wantMention(t, e.Message, "bob", "check")
	var res ipc.BroadcastResult
	alice.must(t, ipc.OpBroadcast, ipc.BroadcastRequest{ID: ipc.NewID(), Content: "all"}, &res)
	if _, ok := res.Failed["bob"]; !ok {
		t.Errorf("broadcast to a full inbox: %+v, want bob failed", res)
	}
	msgs := bob.check(t)
	bob.must(t, ipc.OpAck, ipc.AckRequest{IDs: []string{msgs[0].ID}}, nil)
	alice.send(t, "bob", "room again")
}
