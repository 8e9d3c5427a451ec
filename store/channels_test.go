package store

import (
	"context"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

func mustCreate(t testing.TB, s *Store, ch ipcmesh.Channel) ipcmesh.Channel {
	t.Helper()
	out, err := s.CreateChannel(context.Background(), ch)
	if err != nil {
		t.Fatalf("CreateChannel(%s): %v", ch.Name, err)
	}
	return out
}

// post appends one channel post and fails the test unless it was stored.
func post(t testing.TB, s *Store, id, from, channel, content string) Delivery {
	t.Helper()
	return appendOne(t, s, Draft{ID: id, From: from, Channel: channel, Content: content})
}

func appendOne(t testing.TB, s *Store, d Draft) Delivery {
	t.Helper()
	ds, err := s.Append(context.Background(), []Draft{d})
	if err != nil {
		t.Fatalf("Append %s: %v", d.ID, err)
	}
	if ds[0].Err != nil {
		t.Fatalf("Append %s: refused: %v", d.ID, ds[0].Err)
	}
	return ds[0]
}

func msgIDs(msgs []ipcmesh.Message) string {
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return strings.Join(ids, ",")
}

func TestChannelCreateJoinLeave(t *testing.T) {
	s, clk := openTest(t, nil)
	ctx := context.Background()
	ch := mustCreate(t, s, ipcmesh.Channel{Name: "auth-dev", Description: "auth work", CreatedBy: "carol", Members: []string{"bob", "carol"}})
	if ch.Name != "auth-dev" || ch.CreatedBy != "carol" || !ch.Created.Equal(clk.Now()) ||
		strings.Join(ch.Members, ",") != "bob,carol" || ch.Messages != 0 || !ch.LastActive.IsZero() {
		t.Fatalf("created %+v", ch)
	}

	_, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: "auth-dev", CreatedBy: "dave"})
	wantCode(t, err, ipcmesh.CodeNameTaken)
	_, err = s.CreateChannel(ctx, ipcmesh.Channel{Name: "Auth Dev", CreatedBy: "dave"})
	wantCode(t, err, ipcmesh.CodeInvalidName)
	_, err = s.CreateChannel(ctx, ipcmesh.Channel{Name: "x", CreatedBy: "dave", Members: []string{"../etc"}})
	wantCode(t, err, ipcmesh.CodeInvalidName)

	// The broker warns about near names from the list.
	mustCreate(t, s, ipcmesh.Channel{Name: "ops", CreatedBy: "dave", Private: true})
	all, err := s.Channels()
	if err != nil || len(all) != 2 || all[0].Name != "auth-dev" || all[1].Name != "ops" || !all[1].Private {
		t.Fatalf("Channels = %+v, %v", all, err)
	}
	var names []string
	for _, c := range all {
		names = append(names, c.Name)
	}
	if near := ipcmesh.NearNames("auth-deb", names, 3); len(near) != 1 || near[0] != "auth-dev" {
		t.Fatalf("near names = %v", near)
	}

	if _, ok, err := s.Channel("nope"); ok || err != nil {
		t.Fatalf("Channel(nope) = %v, %v", ok, err)
	}
	_, err = s.JoinChannel(ctx, "nope", []string{"bob"})
	wantCode(t, err, ipcmesh.CodeNotFound)
	wantCode(t, s.LeaveChannel(ctx, "nope", "bob"), ipcmesh.CodeNotFound)

	ch, err = s.JoinChannel(ctx, "ops", []string{"bob", "alice", "dave"})
	if err != nil || strings.Join(ch.Members, ",") != "alice,bob,dave" {
		t.Fatalf("JoinChannel = %+v, %v", ch, err)
	}
	if got, _ := s.Memberships("bob"); strings.Join(got, ",") != "auth-dev,ops" {
		t.Fatalf("Memberships(bob) = %v", got)
	}
	if err := s.LeaveChannel(ctx, "ops", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveChannel(ctx, "ops", "bob"); err != nil {
		t.Fatalf("second leave: %v", err)
	}
	ch, _, _ = s.Channel("ops")
	if strings.Join(ch.Members, ",") != "alice,dave" || !ch.Private {
		t.Fatalf("after leave %+v", ch)
	}
	if got, _ := s.Memberships("bob"); strings.Join(got, ",") != "auth-dev" {
		t.Fatalf("Memberships(bob) after leave = %v", got)
	}
}

func TestChannelPostsStoredOnceAndCounted(t *testing.T) {
	s, clk := openTest(t, nil)
	register(t, s, "alice", "bob")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob"}})
	clk.Advance(time.Minute)
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "p1", From: "alice", To: "ignored", Channel: "dev", Content: "hello dev", Type: "status"},
		{ID: "p2", From: "alice", Channel: "nope", Content: "lost"},
		{ID: "p3", From: "carol", Channel: "dev", Content: "a non-member may post"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[1].Err, ipcmesh.CodeNotFound)
	m := ds[0].Message
	if ds[0].Err != nil || m.To != "#dev" || m.Channel != "dev" || m.Type != "status" || ds[0].Queued || ds[2].Err != nil {
		t.Fatalf("deliveries %+v", ds)
	}
	if n, _ := s.UnreadCount("alice"); n != 1 { // carol's post only
		t.Fatalf("alice unread %d", n)
	}
	if st, _ := s.Stats(); st.Messages != 2 || st.Unread != 0 {
		t.Fatalf("Stats = %+v: posts go in no inbox", st)
	}
	ch, _, _ := s.Channel("dev")
	if ch.Messages != 2 || !ch.LastActive.Equal(clk.Now()) {
		t.Fatalf("channel %+v", ch)
	}
	// "message" is the default type and stored as "".
	d := appendOne(t, s, Draft{ID: "plain", From: "alice", To: "bob", Content: "x", Type: "message"})
	if d.Message.Type != "" {
		t.Fatalf("type %q", d.Message.Type)
	}
	ds, _ = s.Append(context.Background(), []Draft{{ID: "bad", From: "alice", To: "bob", Type: "urgent"}})
	wantCode(t, ds[0].Err, ipcmesh.CodeBadRequest)
}

func TestUnreadMergesInboxAndChannels(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob", "carol")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob", "carol"}})
	mustCreate(t, s, ipcmesh.Channel{Name: "ops", CreatedBy: "carol", Members: []string{"bob"}})
	mustCreate(t, s, ipcmesh.Channel{Name: "other", CreatedBy: "carol"})

	send(t, s, "d1", "alice", "bob", "direct one")
	post(t, s, "dev1", "alice", "dev", "dev one")
	post(t, s, "own", "bob", "dev", "bob's own post")
	post(t, s, "ops1", "carol", "ops", "ops one")
	post(t, s, "x1", "carol", "other", "not bob's channel")
	send(t, s, "d2", "carol", "bob", "direct two")
	post(t, s, "dev2", "carol", "dev", "dev two")

	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d1,dev1,ops1,d2,dev2" {
		t.Fatalf("bob unread = %s", got)
	}
	if n, _ := s.UnreadCount("bob"); n != 5 {
		t.Fatalf("bob count %d", n)
	}
	msgs, _ := s.Unread("bob", 3)
	if msgIDs(msgs) != "d1,dev1,ops1" {
		t.Fatalf("limit 3: %s", msgIDs(msgs))
	}
	// The next page starts after the last seq of this one, unacked.
	msgs, _ = s.UnreadAfter("bob", "", msgs[1].Seq, 2)
	if msgIDs(msgs) != "ops1,d2" {
		t.Fatalf("after dev1, limit 2: %s", msgIDs(msgs))
	}
	if msgs, err := s.UnreadAfter("bob", "", math.MaxUint64, 0); err != nil || len(msgs) != 0 {
		t.Fatalf("after the last seq there is: %s, %v; want nothing", msgIDs(msgs), err)
	}
	// Each member gets each post, once.
	if got := strings.Join(unreadIDs(t, s, "carol"), ","); got != "dev1,own" {
		t.Fatalf("carol unread = %s", got)
	}
	// alice was caught up in dev when she posted dev1: only the rest.
	if got := strings.Join(unreadIDs(t, s, "alice"), ","); got != "own,dev2" {
		t.Fatalf("alice unread = %s", got)
	}

	n, err := s.Ack(ctx, "bob", []string{"d1", "dev1", "ops1", "x1", "unknown"})
	if err != nil || n != 3 {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d2,dev2" {
		t.Fatalf("after ack = %s", got)
	}
	// Acking a later post moves the cursor past earlier ones too; acking
	// again changes nothing.
	if n, _ := s.Ack(ctx, "bob", []string{"dev2", "dev1"}); n != 1 {
		t.Fatalf("ack dev2 = %d", n)
	}
	if n, _ := s.Ack(ctx, "bob", []string{"dev2"}); n != 0 {
		t.Fatalf("ack dev2 again = %d", n)
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d2" {
		t.Fatalf("after second ack = %s", got)
	}
	if got := strings.Join(unreadIDs(t, s, "carol"), ","); got != "dev1,own" {
		t.Fatalf("carol's cursor moved with bob's: %s", got)
	}

	// Joining gives no backlog; the next post arrives.
	if _, err := s.JoinChannel(ctx, "other", []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d2" {
		t.Fatalf("after join = %s", got)
	}
	post(t, s, "x2", "carol", "other", "now bob's channel")
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d2,x2" {
		t.Fatalf("after post = %s", got)
	}
	// Leaving stops it.
	if err := s.LeaveChannel(ctx, "other", "bob"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "d2" {
		t.Fatalf("after leave = %s", got)
	}
	// A channel post is not in the inbox counters.
	if insts, _ := s.Instances(); insts[1].Name != "bob" || insts[1].Unread != 1 {
		t.Fatalf("instances %+v", insts)
	}
}

func TestRenameCarriesMemberships(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob"}})
	post(t, s, "p1", "alice", "dev", "one")
	post(t, s, "p2", "alice", "dev", "two")
	s.Ack(ctx, "bob", []string{"p1"})
	send(t, s, "d1", "alice", "bob", "direct")

	sess := Session{Name: "robert", ID: "s2", Expires: s.now().Add(time.Hour)}
	if _, err := s.Rename(ctx, "bob", sess, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Memberships("robert"); strings.Join(got, ",") != "dev" {
		t.Fatalf("memberships of robert: %v", got)
	}
	if got, _ := s.Memberships("bob"); len(got) != 0 {
		t.Fatalf("memberships of bob: %v", got)
	}
	ch, _, _ := s.Channel("dev")
	if strings.Join(ch.Members, ",") != "alice,robert" {
		t.Fatalf("members %v", ch.Members)
	}
	if got := strings.Join(unreadIDs(t, s, "robert"), ","); got != "p2,d1" {
		t.Fatalf("robert unread = %s (the cursor moves with the name)", got)
	}
	// The moved message is in the conversation with the new name.
	if msgs, _, _ := s.Conversation("alice", "robert", Page{}); msgIDs(msgs) != "d1" {
		t.Fatalf("conversation alice-robert = %s", msgIDs(msgs))
	}
}

func TestGetChannelPost(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	mustCreate(t, s, ipcmesh.Channel{Name: "pub", CreatedBy: "alice"})
	mustCreate(t, s, ipcmesh.Channel{Name: "priv", CreatedBy: "alice", Private: true, Members: []string{"bob"}})
	body := strings.Repeat("large body ", 30)
	post(t, s, "pub1", "alice", "pub", body)
	post(t, s, "priv1", "alice", "priv", body)
	for _, c := range []struct{ who, id string }{{"carol", "pub1"}, {"bob", "priv1"}, {"alice", "priv1"}} {
		m, got, err := s.Get(c.who, c.id)
		if err != nil || got != body || !m.Large {
			t.Fatalf("Get(%s, %s) = %v, %v", c.who, c.id, got, err)
		}
	}
	_, _, err := s.Get("carol", "priv1")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if m, ok, err := s.Lookup("priv1"); !ok || err != nil || m.Channel != "priv" || !m.Large || m.Content == body {
		t.Fatalf("Lookup = %+v, %v, %v", m, ok, err)
	}
	if _, ok, err := s.Lookup("nope"); ok || err != nil {
		t.Fatalf("Lookup(nope) = %v, %v", ok, err)
	}
}

func TestConversationPaging(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob", "carol")
	for i := range 45 {
		from, to := "alice", "bob"
		if i%3 == 0 {
			from, to = "bob", "alice"
		}
		send(t, s, fmt.Sprintf("m%02d", i), from, to, "hello")
		send(t, s, fmt.Sprintf("x%02d", i), "carol", "bob", "noise")
	}
	// A broadcast copy belongs to the conversation too.
	ds, _ := s.Append(ctx, []Draft{{ID: "b1", From: "alice", To: "bob", Broadcast: true, Content: "all"}})
	s.Ack(ctx, "bob", []string{"m01", "m02"}) // read or not does not matter

	var pages [][]ipcmesh.Message
	var before uint64
	for {
		msgs, more, err := s.Conversation("bob", "alice", Page{Before: before, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, msgs)
		if !more {
			break
		}
		before = msgs[len(msgs)-1].Seq
	}
	if len(pages) != 3 || len(pages[0]) != 20 || len(pages[1]) != 20 || len(pages[2]) != 6 {
		t.Fatalf("page sizes %d", len(pages))
	}
	if pages[0][0].ID != "b1" || !pages[0][0].Broadcast || ds[0].Message.Seq != pages[0][0].Seq {
		t.Fatalf("newest first: %s", pages[0][0].ID)
	}
	var all []ipcmesh.Message
	for _, p := range pages {
		all = append(all, p...)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Seq >= all[i-1].Seq || strings.HasPrefix(all[i].ID, "x") {
			t.Fatalf("page order broken at %d: %s", i, all[i].ID)
		}
	}
	if all[len(all)-1].ID != "m00" {
		t.Fatalf("oldest = %s", all[len(all)-1].ID)
	}
	// Default and maximum page size.
	if msgs, more, _ := s.Conversation("alice", "bob", Page{}); len(msgs) != 20 || !more {
		t.Fatalf("default page %d %v", len(msgs), more)
	}
	if msgs, more, _ := s.Conversation("alice", "bob", Page{Limit: 1000}); len(msgs) != 46 || more {
		t.Fatalf("big page %d %v", len(msgs), more)
	}
	if msgs, more, _ := s.Conversation("alice", "carol", Page{}); len(msgs) != 0 || more {
		t.Fatalf("no conversation %d %v", len(msgs), more)
	}
	_, _, err := s.Conversation("alice", "../x", Page{})
	wantCode(t, err, ipcmesh.CodeInvalidName)
}

func TestChannelHistoryPaging(t *testing.T) {
	s, _ := openTest(t, nil)
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice"})
	mustCreate(t, s, ipcmesh.Channel{Name: "dev2", CreatedBy: "alice"})
	for i := range 25 {
		post(t, s, fmt.Sprintf("p%02d", i), "alice", "dev", "post")
		post(t, s, fmt.Sprintf("q%02d", i), "alice", "dev2", "other channel")
	}
	msgs, more, err := s.ChannelHistory("dev", Page{Limit: 10})
	if err != nil || len(msgs) != 10 || !more || msgs[0].ID != "p24" || msgs[9].ID != "p15" {
		t.Fatalf("page 1: %s %v %v", msgIDs(msgs), more, err)
	}
	msgs, more, _ = s.ChannelHistory("dev", Page{Before: msgs[9].Seq, Limit: 10})
	if len(msgs) != 10 || !more || msgs[0].ID != "p14" {
		t.Fatalf("page 2: %s %v", msgIDs(msgs), more)
	}
	msgs, more, _ = s.ChannelHistory("dev", Page{Before: msgs[9].Seq, Limit: 10})
	if len(msgs) != 5 || more || msgs[4].ID != "p00" {
		t.Fatalf("page 3: %s %v", msgIDs(msgs), more)
	}
	_, _, err = s.ChannelHistory("nope", Page{Limit: 10})
	wantCode(t, err, ipcmesh.CodeNotFound)
}

func TestThreads(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice", "bob")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice"})
	root := post(t, s, "root", "alice", "dev", "who reviews auth.go?").Message
	r1 := appendOne(t, s, Draft{ID: "r1", From: "bob", To: "alice", ReplyTo: "root", Type: "response", Content: "me"}).Message
	send(t, s, "unrelated", "bob", "alice", "lunch?")
	r2 := appendOne(t, s, Draft{ID: "r2", From: "alice", Channel: "dev", ReplyTo: "r1", Content: "thanks"}).Message
	if root.Thread != "" || r1.Thread != "root" || r1.ReplyTo != "root" || r2.Thread != "root" || r2.ReplyTo != "r1" {
		t.Fatalf("threads: %q %q %q", root.Thread, r1.Thread, r2.Thread)
	}
	for _, id := range []string{"root", "r1", "r2"} {
		msgs, err := s.Thread(id, 0, 0)
		if err != nil || msgIDs(msgs) != "root,r1,r2" {
			t.Fatalf("Thread(%s) = %s, %v", id, msgIDs(msgs), err)
		}
	}
	if msgs, _ := s.Thread("unrelated", 0, 0); msgIDs(msgs) != "unrelated" {
		t.Fatalf("a lone message is its own thread: %s", msgIDs(msgs))
	}
	_, err := s.Thread("nope", 0, 0)
	wantCode(t, err, ipcmesh.CodeNotFound)

	if msgs, _ := s.ThreadAfter("root", r1.Seq, 0); msgIDs(msgs) != "r2" {
		t.Fatalf("ThreadAfter(r1) = %s", msgIDs(msgs))
	}
	if msgs, _ := s.ThreadAfter("root", 0, 0); msgIDs(msgs) != "r1,r2" {
		t.Fatalf("ThreadAfter(0) = %s", msgIDs(msgs))
	}
	if msgs, _ := s.ThreadAfter("root", r2.Seq, 0); len(msgs) != 0 {
		t.Fatalf("ThreadAfter(r2) = %s", msgIDs(msgs))
	}
	done := appendOne(t, s, Draft{ID: "fin", From: "bob", To: "alice", ReplyTo: "root", Type: "done", Content: "done"}).Message
	if msgs, _ := s.ThreadAfter("root", r2.Seq, 0); len(msgs) != 1 || msgs[0].Type != "done" || msgs[0].Seq != done.Seq {
		t.Fatalf("ThreadAfter done = %+v", msgs)
	}

	// An unknown parent refuses that draft alone.
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "orphan", From: "bob", To: "alice", ReplyTo: "missing", Content: "?"},
		{ID: "fine", From: "bob", To: "alice", ReplyTo: "fin", Content: "ok"},
	})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeNotFound)
	if ds[1].Err != nil || ds[1].Message.Thread != "root" {
		t.Fatalf("second draft %+v", ds[1])
	}
	if _, ok, _ := s.Lookup("orphan"); ok {
		t.Fatal("refused draft stored")
	}
}

func TestRecordVersion1StillReads(t *testing.T) {
	r := record{ID: "old", From: "a", To: "b", Time: time.Unix(5, 0).UTC(), Content: "hi", Size: 2}
	b := r.marshal()
	// A version 1 record is the version 2 encoding without the five new
	// (here empty, so one byte each) fields.
	v1 := append([]byte{recordVersion1}, b[1:len(b)-5]...)
	got, err := unmarshalRecord(v1)
	if err != nil || got != r {
		t.Fatalf("v1 = %+v, %v", got, err)
	}
	r.Thread, r.Channel, r.Type = "t", "dev", "done"
	if got, err := unmarshalRecord(r.marshal()); err != nil || got != r {
		t.Fatalf("v2 = %+v, %v", got, err)
	}
}

func TestSetStatus(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice")
	if err := s.SetStatus(ctx, "alice", "reviewing auth.go", new("the reviewer")); err != nil {
		t.Fatal(err)
	}
	insts, _ := s.Instances()
	if insts[0].Status != "reviewing auth.go" || insts[0].Description != "the reviewer" {
		t.Fatalf("instances %+v", insts)
	}
	// A new session keeps it.
	register(t, s, "alice")
	if insts, _ := s.Instances(); insts[0].Status != "reviewing auth.go" {
		t.Fatalf("after PutSession %+v", insts)
	}
	// A nil description keeps the one stored.
	if err := s.SetStatus(ctx, "alice", "testing auth.go", nil); err != nil {
		t.Fatal(err)
	}
	if insts, _ := s.Instances(); insts[0].Status != "testing auth.go" || insts[0].Description != "the reviewer" {
		t.Fatalf("after a status alone %+v", insts)
	}
	wantCode(t, s.SetStatus(ctx, "alice", strings.Repeat("x", 201), nil), ipcmesh.CodeBadRequest)
	wantCode(t, s.SetStatus(ctx, "alice", "", new(strings.Repeat("x", 501))), ipcmesh.CodeBadRequest)
	wantCode(t, s.SetStatus(ctx, "nobody", "hi", nil), ipcmesh.CodeNotFound)
	if err := s.SetStatus(ctx, "alice", "", new("")); err != nil {
		t.Fatal(err)
	}
	if insts, _ := s.Instances(); insts[0].Status != "" || insts[0].Description != "" {
		t.Fatalf("cleared %+v", insts)
	}
}

func TestSweepChannelPostsAndIndexes(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 64 })
	ctx := context.Background()
	register(t, s, "alice", "bob")
	mustCreate(t, s, ipcmesh.Channel{Name: "dev", CreatedBy: "alice", Members: []string{"bob"}})
	old := post(t, s, "old", "alice", "dev", "zebra giraffe "+strings.Repeat("padding words ", 10))
	appendOne(t, s, Draft{ID: "oldreply", From: "bob", To: "alice", ReplyTo: "old", Content: "zebra answer"})
	s.Ack(ctx, "alice", []string{"oldreply"})
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(20 * 24 * time.Hour)
	post(t, s, "young", "alice", "dev", "zebra young")
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	q := Query{Words: "zebra", Reader: "alice", Channels: []string{"dev"}}
	if got, _, _ := s.Search(q); msgIDs(got) != "young,oldreply,old" {
		t.Fatalf("before sweep: %s", msgIDs(got))
	}

	clk.Advance(10*24*time.Hour + time.Minute)
	st, err := s.Sweep(ctx)
	if err != nil || st != (SweepStats{History: 1, Posts: 1}) {
		t.Fatalf("Sweep = %+v, %v", st, err)
	}
	if _, err := os.Stat(old.Message.Path); !os.IsNotExist(err) {
		t.Fatalf("file of the swept post: %v", err)
	}
	if got, _, _ := s.Search(q); msgIDs(got) != "young" {
		t.Fatalf("after sweep: %s", msgIDs(got))
	}
	ch, _, _ := s.Channel("dev")
	if ch.Messages != 1 {
		t.Fatalf("channel count %d", ch.Messages)
	}
	if msgs, more, _ := s.ChannelHistory("dev", Page{}); msgIDs(msgs) != "young" || more {
		t.Fatalf("history %s", msgIDs(msgs))
	}
	if msgs, _, _ := s.Conversation("alice", "bob", Page{}); len(msgs) != 0 {
		t.Fatalf("conversation %s", msgIDs(msgs))
	}
	if msgs, _ := s.ThreadAfter("old", 0, 0); len(msgs) != 0 {
		t.Fatalf("thread %s", msgIDs(msgs))
	}
	// No index still names a deleted message.
	err = s.db.View(func(tx *bolt.Tx) error {
		tb := tablesOf(tx)
		for _, b := range []*bolt.Bucket{tb.words(), tb.channelLog(), tb.conversations(), tb.threads(), tb.channelExpiry()} {
			err := b.ForEach(func(k, _ []byte) error {
				seq := tailSeq(k)
				if tb.messages().Get(seqKey(seq)) == nil {
					return fmt.Errorf("index entry %q names deleted seq %d", k, seq)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, s, bucketWords); n != len(tokens("zebra young")) {
		t.Fatalf("words index holds %d entries", n)
	}
}

func countKeys(t testing.TB, s *Store, bucket string) int {
	t.Helper()
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket([]byte(bucket)).Stats().KeyN
		return nil
	})
	return n
}

func TestThreadOutlivesItsFirstMessage(t *testing.T) {
	s, clk := openTest(t, nil)
	ctx := context.Background()
	register(t, s, "alice", "bob")
	send(t, s, "root", "alice", "bob", "question")
	s.Ack(ctx, "bob", []string{"root"})
	clk.Advance(20 * 24 * time.Hour)
	appendOne(t, s, Draft{ID: "r1", From: "bob", To: "alice", ReplyTo: "root", Content: "answer"})
	clk.Advance(10*24*time.Hour + time.Minute)
	if st, _ := s.Sweep(ctx); st.History != 1 {
		t.Fatalf("sweep %+v", st)
	}
	for _, id := range []string{"root", "r1"} {
		if msgs, err := s.Thread(id, 0, 0); err != nil || msgIDs(msgs) != "r1" {
			t.Fatalf("Thread(%s) = %s, %v", id, msgIDs(msgs), err)
		}
	}
}

// A database written before conversations were indexed gets them from the
// indexer after the upgrade.
func TestConversationBackfillAfterUpgrade(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.idx.close()
	register(t, s, "alice", "bob")
	send(t, s, "m1", "alice", "bob", "old mail")
	send(t, s, "m2", "bob", "alice", "old reply")
	// Make it look like an old database: no conversation index, no
	// schema mark, nothing indexed.
	err = s.db.Update(func(tx *bolt.Tx) error {
		tb := tablesOf(tx)
		if err := tx.DeleteBucket([]byte(bucketConversations)); err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte(bucketConversations)); err != nil {
			return err
		}
		if err := tb.meta().Delete([]byte(metaSchema)); err != nil {
			return err
		}
		return tb.meta().Delete([]byte(metaIndexed))
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	send(t, s, "m3", "alice", "bob", "new mail")
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	if msgs, _, _ := s.Conversation("alice", "bob", Page{}); msgIDs(msgs) != "m3,m2,m1" {
		t.Fatalf("conversation = %s", msgIDs(msgs))
	}
	s.db.View(func(tx *bolt.Tx) error {
		if tablesOf(tx).meta().Get([]byte(metaBackfill)) != nil {
			t.Error("backfill mark left behind")
		}
		return nil
	})
}
