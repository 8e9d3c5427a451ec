package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// createChannel makes a channel and fails the test on refusal.
func (p *peer) createChannel(tb testing.TB, req ipc.ChannelCreateRequest) ipc.ChannelResult {
	tb.Helper()
	var res ipc.ChannelResult
	p.must(tb, ipc.OpChannelCreate, req, &res)
	return res
}

// joinChannel joins a channel (adding members, if any).
func (p *peer) joinChannel(tb testing.TB, name string, members ...string) ipcmesh.Channel {
	tb.Helper()
	var res ipc.ChannelResult
	p.must(tb, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: name, Members: members}, &res)
	return res.Channel
}

// sendMsg sends req with a fresh id and fails the test on refusal.
func (p *peer) sendMsg(tb testing.TB, req ipc.SendRequest) ipc.SendResult {
	tb.Helper()
	req.ID = ipc.NewID()
	var res ipc.SendResult
	p.must(tb, ipc.OpSend, req, &res)
	return res
}

func (p *peer) history(tb testing.TB, req ipc.HistoryRequest) ipc.HistoryResult {
	tb.Helper()
	var res ipc.HistoryResult
	p.must(tb, ipc.OpHistory, req, &res)
	return res
}

func (p *peer) search(tb testing.TB, req ipc.SearchRequest) []ipcmesh.Message {
	tb.Helper()
	var res ipc.SearchResult
	p.must(tb, ipc.OpSearch, req, &res)
	return res.Messages
}

func (p *peer) channels(tb testing.TB, query string) []string {
	tb.Helper()
	var res ipc.ChannelListResult
	p.must(tb, ipc.OpChannelList, ipc.ChannelListRequest{Query: query}, &res)
	var names []string
	for _, ch := range res.Channels {
		names = append(names, ch.Name)
	}
	return names
}

// refused makes a request that must fail with code and returns the error.
func (p *peer) refused(tb testing.TB, code ipcmesh.Code, op string, in any) *ipcmesh.Error {
	tb.Helper()
	return wantCode(tb, p.call(op, in, nil), code)
}

func contents(msgs []ipcmesh.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, m.Content)
	}
	return out
}

func isMessage(id string) func(json.RawMessage) bool {
	return func(body json.RawMessage) bool {
		var m ipcmesh.Message
		return json.Unmarshal(body, &m) == nil && m.ID == id
	}
}

// pushesOf counts the message events for id seen so far.
func pushesOf(l *eventLog, id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, ev := range l.events {
		if ev.Name == ipc.EventMessage && isMessage(id)(ev.Body) {
			n++
		}
	}
	return n
}

// A short channel name is not taken for a typo of another short one it
// shares little with: creating #qa while #ux exists, or #a-b while #-
// does, warned "did you mean" them, as every name of two letters is
// within two edits of every other. The rule is Closest's: a shorter name
// needs a closer match.
func TestShortChannelNameIsNoTypo(t *testing.T) {
	m := startMesh(t, nil)
	alice := m.join(t, "alice")
	for _, name := range []string{"ux", "z", "ops"} {
		alice.createChannel(t, ipc.ChannelCreateRequest{Name: name})
	}
	for _, name := range []string{"qa", "a-b", "db"} {
		if res := alice.createChannel(t, ipc.ChannelCreateRequest{Name: name}); res.Warning != "" {
			t.Errorf("#%s got warning %q", name, res.Warning)
		}
	}
	res := alice.createChannel(t, ipc.ChannelCreateRequest{Name: "opss"})
	wantMention(t, res.Warning, "#ops", "did you mean")
}

func TestChannelCreateNormalisesAndWarns(t *testing.T) {
	forEachStore(t, testChannelCreateNormalisesAndWarns)
}

func testChannelCreateNormalisesAndWarns(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")

	res := alice.createChannel(t, ipc.ChannelCreateRequest{Name: "#Auth Dev", Description: "authentication work"})
	ch := res.Channel
	if ch.Name != "auth-dev" || ch.CreatedBy != "alice" || !slices.Equal(ch.Members, []string{"alice"}) || ch.Private {
		t.Fatalf("created %+v, want auth-dev by alice with alice as its member", ch)
	}
	if res.Warning != "" {
		t.Errorf("first channel got warning %q", res.Warning)
	}

	near := bob.createChannel(t, ipc.ChannelCreateRequest{Name: "auth_dex"})
	if near.Channel.Name != "auth-dex" {
		t.Fatalf("auth_dex normalised to %q, want auth-dex", near.Channel.Name)
	}
	wantMention(t, near.Warning, "#auth-dev", "did you mean")

	e := bob.refused(t, ipcmesh.CodeNameTaken, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "AUTH dev"})
	wantMention(t, e.Message, "#auth-dev", "exists", "free names: auth-dev-2, auth-dev-3")
	if len(e.Suggestions) == 0 {
		t.Errorf("name_taken for a channel suggests no free name")
	}
	// The creator's own create again (a retry) is answered with the channel.
	again := alice.createChannel(t, ipc.ChannelCreateRequest{Name: "auth-dev", Description: "authentication work"})
	if again.Channel.Name != "auth-dev" || !again.Channel.Created.Equal(ch.Created) {
		t.Errorf("create again by its creator = %+v, want the channel made first", again.Channel)
	}
	alice.refused(t, ipcmesh.CodeInvalidName, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "a/b"})
	alice.refused(t, ipcmesh.CodeInvalidName, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "  # "})
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "long", Description: strings.Repeat("x", ipc.MaxDescription+1)})
}

func TestChannelListAndFind(t *testing.T) { forEachStore(t, testChannelListAndFind) }

func testChannelListAndFind(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "auth-dev", Description: "Authentication work"})
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "frontend", Description: "UI and CSS"})
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "secret-ops", Private: true, Members: []string{"carol"}})

	if got := bob.channels(t, ""); !slices.Equal(got, []string{"auth-dev", "frontend"}) {
		t.Errorf("bob lists %v, want the two public channels only", got)
	}
	if got := carol.channels(t, ""); !slices.Equal(got, []string{"auth-dev", "frontend", "secret-ops"}) {
		t.Errorf("carol (a member of secret-ops) lists %v", got)
	}
	for query, want := range map[string][]string{
		"css":            {"frontend"},
		"AUTH":           {"auth-dev"},
		"#frontend":      {"frontend"},
		"nothing here":   nil,
		"ui auth":        {"auth-dev", "frontend"},
		"secret":         nil,
		"authentication": {"auth-dev"},
	} {
		if got := bob.channels(t, query); !slices.Equal(got, want) {
			t.Errorf("bob finds %v for %q, want %v", got, query, want)
		}
	}
	if got := carol.channels(t, "secret"); !slices.Equal(got, []string{"secret-ops"}) {
		t.Errorf("carol finds %v for \"secret\", want her private channel", got)
	}
	var res ipc.ChannelListResult
	bob.must(t, ipc.OpChannelList, ipc.ChannelListRequest{Query: "zzz"}, &res)
	if res.Channels == nil {
		t.Error("channel_list with no match returned null, want an empty array")
	}
}

func TestChannelJoinLeave(t *testing.T) { forEachStore(t, testChannelJoinLeave) }

func testChannelJoinLeave(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	m.join(t, "carol")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})

	if ch := bob.joinChannel(t, "#Dev"); !slices.Equal(ch.Members, []string{"alice", "bob"}) {
		t.Fatalf("after bob joins, members = %v", ch.Members)
	}
	if ch := bob.joinChannel(t, "dev"); !slices.Equal(ch.Members, []string{"alice", "bob"}) {
		t.Fatalf("joining again changed members to %v", ch.Members)
	}
	if ch := bob.joinChannel(t, "dev", "carol"); !slices.Equal(ch.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("bob adding carol: members = %v", ch.Members)
	}
	bob.must(t, ipc.OpChannelLeave, ipc.ChannelLeaveRequest{Name: "dev"}, nil)
	bob.must(t, ipc.OpChannelLeave, ipc.ChannelLeaveRequest{Name: "dev"}, nil) // not a member: nothing to do
	var res ipc.ChannelListResult
	bob.must(t, ipc.OpChannelList, nil, &res)
	if len(res.Channels) != 1 || !slices.Equal(res.Channels[0].Members, []string{"alice", "carol"}) {
		t.Fatalf("after bob left, channels = %+v", res.Channels)
	}
	e := bob.refused(t, ipcmesh.CodeNotFound, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "devv"})
	if !slices.Equal(e.Suggestions, []string{"#dev"}) {
		t.Errorf("joining #devv suggests %v, want [#dev]", e.Suggestions)
	}
	wantMention(t, e.Message, "#devv", "#dev")
	bob.refused(t, ipcmesh.CodeNotFound, ipc.OpChannelLeave, ipc.ChannelLeaveRequest{Name: "nowhere"})
	bob.refused(t, ipcmesh.CodeInvalidName, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "dev", Members: []string{"no one"}})
}

// channel_create and channel_join each take up to MaxMembers names in
// members; the caller, whom both may add as well, is not one of them, and
// a refusal names the count the request sent.
func TestChannelMembersLimit(t *testing.T) { forEachStore(t, testChannelMembersLimit) }

func testChannelMembersLimit(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	names := func(prefix string, n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("%s%d", prefix, i)
		}
		return out
	}

	full := alice.createChannel(t, ipc.ChannelCreateRequest{Name: "full", Members: names("m", ipc.MaxMembers)}).Channel
	if len(full.Members) != ipc.MaxMembers+1 || !slices.Contains(full.Members, "alice") {
		t.Fatalf("channel_create with %d members besides the caller made %d members (alice among them: %v), want %d",
			ipc.MaxMembers, len(full.Members), slices.Contains(full.Members, "alice"), ipc.MaxMembers+1)
	}
	// The caller named among them counts once.
	self := alice.createChannel(t, ipc.ChannelCreateRequest{Name: "self", Members: append(names("m", ipc.MaxMembers-1), "alice")}).Channel
	if len(self.Members) != ipc.MaxMembers {
		t.Fatalf("channel_create naming the caller among %d members made %d members, want %d", ipc.MaxMembers, len(self.Members), ipc.MaxMembers)
	}
	over := fmt.Sprint(ipc.MaxMembers + 1)
	e := alice.refused(t, ipcmesh.CodeTooLarge, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "over", Members: names("m", ipc.MaxMembers+1)})
	wantMention(t, e.Message, over+" members", fmt.Sprint(ipc.MaxMembers), "channel_join")
	if slices.Contains(alice.channels(t, "over"), "over") {
		t.Error("a refused channel_create made the channel")
	}

	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "grow"})
	if ch := alice.joinChannel(t, "grow", names("j", ipc.MaxMembers)...); len(ch.Members) != ipc.MaxMembers+1 {
		t.Fatalf("channel_join adding %d members: %d members, want %d", ipc.MaxMembers, len(ch.Members), ipc.MaxMembers+1)
	}
	e = alice.refused(t, ipcmesh.CodeTooLarge, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "grow", Members: names("k", ipc.MaxMembers+1)})
	wantMention(t, e.Message, over+" members", fmt.Sprint(ipc.MaxMembers))
}

func TestChannelPostReachesEveryMemberOnce(t *testing.T) {
	forEachStore(t, testChannelPostReachesEveryMemberOnce)
}

func testChannelPostReachesEveryMemberOnce(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	dave := m.join(t, "dave")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})
	bob.joinChannel(t, "dev")
	carol.joinChannel(t, "dev")

	res := alice.send(t, "#dev", "build is green")
	if res.Channel != "dev" || res.Members != 2 || !res.Online {
		t.Fatalf("post result = channel %q, members %d, online %v; want dev, 2, true", res.Channel, res.Members, res.Online)
	}
	if res.Message.To != "#dev" || res.Message.Channel != "dev" || res.Message.From != "alice" {
		t.Fatalf("posted message = %+v", res.Message)
	}
	id := res.Message.ID
	for _, p := range []*peer{bob, carol} {
		p.Events.await(t, ipc.EventMessage, isMessage(id))
		got := p.check(t)
		if len(got) != 1 || got[0].ID != id || got[0].Channel != "dev" {
			t.Fatalf("%s's check = %+v, want the post once", p.Session.Name, got)
		}
	}
	if got := alice.check(t); len(got) != 0 {
		t.Errorf("the sender's own post is in her check: %+v", got)
	}
	if got := dave.check(t); len(got) != 0 {
		t.Errorf("a non-member's check holds %+v", got)
	}
	// bob acks the id he was pushed: the post is read for him alone.
	var ack ipc.AckResult
	bob.must(t, ipc.OpAck, ipc.AckRequest{IDs: []string{id}}, &ack)
	if got := bob.check(t); len(got) != 0 {
		t.Errorf("bob's check after his ack = %+v", got)
	}
	if got := carol.check(t); len(got) != 1 {
		t.Errorf("carol's check after bob's ack = %+v, want the post still unread", got)
	}

	// A non-member may post to a public channel; every member gets it.
	res = dave.send(t, "#dev", "hello from outside")
	if res.Members != 3 {
		t.Errorf("a non-member's post reached %d members, want 3", res.Members)
	}
	for _, p := range []*peer{alice, bob, carol} {
		p.Events.await(t, ipc.EventMessage, isMessage(res.Message.ID))
	}
	// Each member was pushed each post once.
	for _, p := range []*peer{bob, carol} {
		if n := pushesOf(p.Events, id); n != 1 {
			t.Errorf("%s was pushed the first post %d times", p.Session.Name, n)
		}
	}
	if n := pushesOf(alice.Events, id); n != 0 {
		t.Errorf("the sender was pushed her own post %d times", n)
	}
}

func TestChannelPostWakesWaitingCheck(t *testing.T) {
	forEachStore(t, testChannelPostWakesWaitingCheck)
}

func testChannelPostWakesWaitingCheck(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev", Members: []string{"bob"}})
	got := make(chan ipc.CheckResult, 1)
	errs := make(chan error, 1)
	go func() {
		var res ipc.CheckResult
		err := bob.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: callTimeout.Milliseconds()}, &res)
		errs <- err
		got <- res
	}()
	alice.send(t, "#dev", "wake up")
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if res := <-got; len(res.Messages) != 1 || res.Messages[0].Content != "wake up" {
		t.Fatalf("bob's waiting check returned %+v", res.Messages)
	}
}

func TestPrivateChannelKeepsOutsiders(t *testing.T) {
	forEachStore(t, testPrivateChannelKeepsOutsiders)
}

func testPrivateChannelKeepsOutsiders(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "ops", Private: true, Members: []string{"bob"}, Description: "incident room"})
	post := alice.send(t, "#ops", "the password rotation is tonight")
	if post.Members != 1 {
		t.Fatalf("private post reached %d members, want 1 (bob)", post.Members)
	}
	bob.Events.await(t, ipc.EventMessage, isMessage(post.Message.ID))

	// To carol, #ops does not exist: every op says not_found, alike.
	unknown := carol.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#opz", Content: "x"}})
	checks := []*ipcmesh.Error{
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#ops", Content: "let me in"}}),
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Channel: "ops"}),
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpSearch, ipc.SearchRequest{Query: "password", Channel: "ops"}),
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "ops"}),
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "ops", Members: []string{"carol"}}),
	}
	for _, e := range checks {
		if want := strings.ReplaceAll(unknown.Message, "#opz", "#ops"); e.Message != want {
			t.Errorf("refusal for the private channel %q differs from an unknown channel's %q", e.Message, want)
		}
		if slices.Contains(e.Suggestions, "#ops") {
			t.Errorf("refusal suggests the private channel: %v", e.Suggestions)
		}
	}
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: post.Message.ID})
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: post.Message.ID})
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "alice", Content: "re", ReplyTo: post.Message.ID}})
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpFetch, ipc.FetchRequest{ID: post.Message.ID})
	if got := carol.search(t, ipc.SearchRequest{Query: "password"}); len(got) != 0 {
		t.Errorf("carol's search finds %+v in a private channel", got)
	}
	if got := carol.channels(t, "incident"); len(got) != 0 {
		t.Errorf("carol finds %v", got)
	}

	// A member reads it and adds carol; then carol reads it too.
	if h := bob.history(t, ipc.HistoryRequest{Channel: "#ops"}); len(h.Messages) != 1 {
		t.Fatalf("bob's history of #ops = %+v", h.Messages)
	}
	if ch := bob.joinChannel(t, "ops", "carol"); !slices.Equal(ch.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("members after bob added carol = %v", ch.Members)
	}
	if h := carol.history(t, ipc.HistoryRequest{Channel: "ops"}); len(h.Messages) != 1 || h.Messages[0].ID != post.Message.ID {
		t.Fatalf("carol's history after she was added = %+v", h.Messages)
	}
	var f ipc.FetchResult
	carol.must(t, ipc.OpFetch, ipc.FetchRequest{ID: post.Message.ID}, &f)
	if f.Content != "the password rotation is tonight" {
		t.Errorf("carol fetches %q", f.Content)
	}
	if r := carol.send(t, "#ops", "I'm in"); r.Members != 2 {
		t.Errorf("carol's post reached %d members, want 2", r.Members)
	}
}

func TestConversationHistoryNewestFirstPaged(t *testing.T) {
	forEachStore(t, testConversationHistoryNewestFirstPaged)
}

func testConversationHistoryNewestFirstPaged(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.send(t, "carol", "not in the conversation")
	var sent []ipc.SendResult
	for i := range 25 {
		from, to := alice, "bob"
		if i%2 == 1 {
			from, to = bob, "alice"
		}
		sent = append(sent, from.send(t, to, fmt.Sprint("m", i)))
	}
	bob.send(t, "carol", "not in it either")

	var got []ipcmesh.Message
	var before uint64
	pages := 0
	for {
		h := alice.history(t, ipc.HistoryRequest{With: "bob", Before: before, Limit: 10})
		pages++
		if pages == 1 {
			want := []string{"m24", "m23", "m22", "m21", "m20", "m19", "m18", "m17", "m16", "m15"}
			if !slices.Equal(contents(h.Messages), want) || !h.More {
				t.Fatalf("first page = %v (more %v), want the 10 newest, newest first: %v", contents(h.Messages), h.More, want)
			}
		}
		got = append(got, h.Messages...)
		if !h.More {
			break
		}
		if len(h.Messages) == 0 || pages > 5 {
			t.Fatalf("page %d: %d messages, more %v", pages, len(h.Messages), h.More)
		}
		before = h.Messages[len(h.Messages)-1].Seq
	}
	if pages != 3 || len(got) != 25 {
		t.Fatalf("%d pages, %d messages; want 3 pages of 25 messages", pages, len(got))
	}
	for i, msg := range got {
		if want := sent[24-i].Message.ID; msg.ID != want {
			t.Fatalf("message %d of the history is %q (%s), want %q", i, msg.Content, msg.ID, want)
		}
	}
	// bob sees the same conversation from his side; the default page is 20.
	h := bob.history(t, ipc.HistoryRequest{With: "alice"})
	if len(h.Messages) != 20 || !h.More || h.Messages[0].Content != "m24" {
		t.Errorf("bob's default page: %d messages, more %v, first %q", len(h.Messages), h.More, h.Messages[0].Content)
	}
	e := alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpHistory, ipc.HistoryRequest{With: "bob", Channel: "dev"})
	wantMention(t, e.Message, "exactly one", "with", "channel", "thread")
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpHistory, ipc.HistoryRequest{})
}

// A conversation asked for by a name renamed since, while mail to it is
// forwarded, is the conversation with the new name, and says so.
func TestConversationHistoryFollowsARename(t *testing.T) {
	forEachStore(t, testConversationHistoryFollowsARename)
}

func testConversationHistoryFollowsARename(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.send(t, "bob", "before the rename")
	bob.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "robert"}, nil)
	alice.send(t, "bob", "after the rename")

	h := alice.history(t, ipc.HistoryRequest{With: "bob"})
	if want := []string{"after the rename", "before the rename"}; !slices.Equal(contents(h.Messages), want) || h.With != "robert" {
		t.Fatalf("history with bob, renamed robert = %v, with %q; want %v, with robert", contents(h.Messages), h.With, want)
	}
	if h := alice.history(t, ipc.HistoryRequest{With: "robert"}); len(h.Messages) != 2 || h.With != "" {
		t.Errorf("history with robert = %v, with %q; want both messages, and with unset", contents(h.Messages), h.With)
	}
}

func TestChannelHistoryNewestFirst(t *testing.T) { forEachStore(t, testChannelHistoryNewestFirst) }

func testChannelHistoryNewestFirst(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})
	for i := range 5 {
		alice.send(t, "#dev", fmt.Sprint("p", i))
	}
	// bob never joined: a public channel's history is open to him.
	h := bob.history(t, ipc.HistoryRequest{Channel: "dev", Limit: 3})
	if !slices.Equal(contents(h.Messages), []string{"p4", "p3", "p2"}) || !h.More {
		t.Fatalf("channel history = %v (more %v)", contents(h.Messages), h.More)
	}
	h = bob.history(t, ipc.HistoryRequest{Channel: "dev", Limit: 3, Before: h.Messages[2].Seq})
	if !slices.Equal(contents(h.Messages), []string{"p1", "p0"}) || h.More {
		t.Fatalf("second page = %v (more %v)", contents(h.Messages), h.More)
	}
	e := bob.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Channel: "deb"})
	if !slices.Equal(e.Suggestions, []string{"#dev"}) {
		t.Errorf("history of #deb suggests %v", e.Suggestions)
	}
}

func TestThreadReadWholeFromAnyMessage(t *testing.T) {
	forEachStore(t, testThreadReadWholeFromAnyMessage)
}

func testThreadReadWholeFromAnyMessage(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	root := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "review PR 42?", Type: ipcmesh.TypeRequest}}).Message
	alice.send(t, "bob", "unrelated")
	reply := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "on it", Type: ipcmesh.TypeResponse, ReplyTo: root.ID}}).Message
	if reply.ReplyTo != root.ID || reply.Thread != root.ID || reply.Type != ipcmesh.TypeResponse {
		t.Fatalf("reply = %+v, want reply_to and thread %s", reply, root.ID)
	}
	last := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "thanks", ReplyTo: reply.ID}}).Message
	if last.Thread != root.ID {
		t.Fatalf("a reply to a reply has thread %q, want the root %q", last.Thread, root.ID)
	}
	want := []string{"review PR 42?", "on it", "thanks"}
	for _, id := range []string{root.ID, reply.ID, last.ID} {
		for _, p := range []*peer{alice, bob} {
			if h := p.history(t, ipc.HistoryRequest{Thread: id}); !slices.Equal(contents(h.Messages), want) {
				t.Errorf("%s reads the thread from %s as %v, want %v", p.Session.Name, id, contents(h.Messages), want)
			}
		}
	}
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: reply.ID})
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: "no-such-message"})

	// A thread in a public channel is read by anyone; a direct reply to a
	// post stays between its two.
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})
	post := alice.send(t, "#dev", "who owns the build?").Message
	pub := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#dev", Content: "I do", ReplyTo: post.ID}}).Message
	bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "(between us: it is flaky)", ReplyTo: post.ID}})
	if h := carol.history(t, ipc.HistoryRequest{Thread: pub.ID}); !slices.Equal(contents(h.Messages), []string{"who owns the build?", "I do"}) {
		t.Errorf("carol reads the channel thread as %v", contents(h.Messages))
	}
	if h := alice.history(t, ipc.HistoryRequest{Thread: post.ID}); len(h.Messages) != 3 {
		t.Errorf("alice reads the channel thread as %v, want all three", contents(h.Messages))
	}
	// A post answering a direct message: the thread is the direct
	// message's, which carol may not read, so neither may she the thread.
	answer := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#dev", Content: "answering in public", ReplyTo: root.ID}}).Message
	e := carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: answer.ID})
	wantMention(t, e.Message, answer.ID)
	if strings.Contains(e.Message, root.ID) {
		t.Errorf("the refusal names the thread's first message: %q", e.Message)
	}
}

func TestWaitReplyWokenByReply(t *testing.T) { forEachStore(t, testWaitReplyWokenByReply) }

func testWaitReplyWokenByReply(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	req := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "please review", Type: ipcmesh.TypeRequest}}).Message
	early := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "seen", ReplyTo: req.ID}}).Message

	type answer struct {
		res ipc.WaitReplyResult
		err error
	}
	wait := func(r ipc.WaitReplyRequest) <-chan answer {
		out := make(chan answer, 1)
		go func() {
			var a answer
			a.err = alice.call(ipc.OpWaitReply, r, &a.res)
			out <- a
		}()
		return out
	}
	// The wait is for new replies: "seen" was there before it started.
	got := wait(ipc.WaitReplyRequest{ID: req.ID, WaitMS: callTimeout.Milliseconds()})
	testbin.Eventually(t, callTimeout, "alice's wait_reply waiting", func() bool { return m.Broker.ThreadWaiters() == 1 })
	reply := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "LGTM with one nit", Type: ipcmesh.TypeResponse, ReplyTo: early.ID}}).Message
	a := <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	if len(a.res.Messages) != 1 || a.res.Messages[0].ID != reply.ID || a.res.Done || a.res.Last != reply.Seq {
		t.Fatalf("wait_reply = %+v, want just the new reply, not done, last %d", a.res, reply.Seq)
	}
	if n := m.Broker.ThreadWaiters(); n != 0 {
		t.Errorf("%d thread waiters left after the wait ended", n)
	}

	// A done in the thread ends the next wait and says so.
	got = wait(ipc.WaitReplyRequest{ID: req.ID, After: a.res.Last, WaitMS: callTimeout.Milliseconds()})
	testbin.Eventually(t, callTimeout, "the second wait_reply waiting", func() bool { return m.Broker.ThreadWaiters() == 1 })
	alice.send(t, "bob", "unrelated mail wakes nothing")
	done := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "merged", Type: ipcmesh.TypeDone, ReplyTo: req.ID}}).Message
	a = <-got
	if a.err != nil {
		t.Fatal(a.err)
	}
	if len(a.res.Messages) != 1 || a.res.Messages[0].ID != done.ID || !a.res.Done {
		t.Fatalf("wait_reply after done = %+v, want the done message and done=true", a.res)
	}

	// With after, replies already stored are returned at once (a retry
	// after a failover relies on it).
	var res ipc.WaitReplyResult
	alice.must(t, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: reply.ID, After: req.Seq}, &res)
	if !slices.Equal(contents(res.Messages), []string{"seen", "LGTM with one nit", "merged"}) || !res.Done {
		t.Fatalf("wait_reply after the request's seq = %v (done %v)", contents(res.Messages), res.Done)
	}
	// Nothing new: an empty answer when the time is up.
	res = ipc.WaitReplyResult{}
	alice.must(t, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: req.ID, WaitMS: 1}, &res)
	if len(res.Messages) != 0 || res.Messages == nil || res.Last != done.Seq {
		t.Fatalf("wait_reply with nothing new = %+v, want an empty list and last %d", res, done.Seq)
	}
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: "no-such-message"})
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpWaitReply, ipc.WaitReplyRequest{})
}

func TestWaitReplyInChannelThread(t *testing.T) { forEachStore(t, testWaitReplyInChannelThread) }

func testWaitReplyInChannelThread(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev", Members: []string{"bob"}})
	q := alice.send(t, "#dev", "who takes the release?").Message
	got := make(chan ipc.WaitReplyResult, 1)
	go func() {
		var res ipc.WaitReplyResult
		if err := alice.call(ipc.OpWaitReply, ipc.WaitReplyRequest{ID: q.ID, After: q.Seq, WaitMS: callTimeout.Milliseconds()}, &res); err != nil {
			t.Error(err)
		}
		got <- res
	}()
	r := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#dev", Content: "me", ReplyTo: q.ID, Type: ipcmesh.TypeDone}}).Message
	if res := <-got; len(res.Messages) != 1 || res.Messages[0].ID != r.ID || !res.Done {
		t.Fatalf("wait_reply on a channel thread = %+v", res)
	}
}

func TestWaitReplyEndsOnShutdownWithoutAnswer(t *testing.T) {
	forEachStore(t, testWaitReplyEndsOnShutdownWithoutAnswer)
}

func testWaitReplyEndsOnShutdownWithoutAnswer(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	m.join(t, "bob")
	q := alice.send(t, "bob", "ping").Message
	errs := make(chan error, 1)
	go func() {
		errs <- alice.call(ipc.OpWaitReply, ipc.WaitReplyRequest{ID: q.ID, WaitMS: callTimeout.Milliseconds()}, nil)
	}()
	testbin.Eventually(t, callTimeout, "the wait_reply waiting", func() bool { return m.Broker.ThreadWaiters() == 1 })
	if err := m.Broker.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errs; !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("wait_reply across a shutdown: %v, want the connection lost (so the peer retries)", err)
	}
}

func TestSendValidatesCollabFields(t *testing.T) { forEachStore(t, testSendValidatesCollabFields) }

func testSendValidatesCollabFields(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	dm := alice.send(t, "bob", "private").Message
	e := alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "x", Type: "urgent"}})
	wantMention(t, e.Message, "urgent", "request")
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "x", Shared: "../etc"}})
	carol.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "x", ReplyTo: dm.ID}})
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "bob", Content: "x", ReplyTo: "no-such-message"}})
	alice.refused(t, ipcmesh.CodeInvalidName, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#", Content: "x"}})
	e = alice.refused(t, ipcmesh.CodeNotFound, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#nowhere", Content: "x"}})
	wantMention(t, e.Message, "#nowhere", "channel_create")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#dev", Content: ""}})

	r := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "the spec is shared", Type: ipcmesh.TypeHandoff, Shared: "spec.v1", ReplyTo: dm.ID}}).Message
	if r.Shared != "spec.v1" || r.Type != ipcmesh.TypeHandoff || r.Thread != dm.ID {
		t.Errorf("stored %+v", r)
	}
	// A retried post is a duplicate, stored once.
	id := ipc.NewID()
	var first, again ipc.SendResult
	alice.must(t, ipc.OpSend, ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "#dev", Content: "once"}}, &first)
	alice.must(t, ipc.OpSend, ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "#dev", Content: "once"}}, &again)
	if !again.Duplicate || again.Message.Seq != first.Message.Seq {
		t.Errorf("retried post: duplicate %v, seq %d vs %d", again.Duplicate, again.Message.Seq, first.Message.Seq)
	}
}

func TestShareGetList(t *testing.T) { forEachStore(t, testShareGetList) }

func testShareGetList(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, func(o *meshOptions) { o.Store.MaxMessageBytes = 64 << 10 })
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	var res ipc.SharedResult
	alice.must(t, ipc.OpShare, ipc.ShareRequest{Key: "spec:v1", Content: "hello world", Description: "the spec"}, &res)
	if sh := res.Shared; sh.Key != "spec:v1" || sh.Size != 11 || sh.StoredBy != "alice" || sh.Content != "" || sh.Description != "the spec" {
		t.Fatalf("share = %+v", sh)
	}
	big := strings.Repeat("0123456789", 3000) // stored as a large value
	alice.must(t, ipc.OpShare, ipc.ShareRequest{Key: "dump", Content: big}, nil)
	bob.must(t, ipc.OpGetShared, ipc.GetSharedRequest{Key: "spec:v1"}, &res)
	if res.Shared.Content != "hello world" || res.Shared.StoredBy != "alice" {
		t.Fatalf("get_shared = %+v", res.Shared)
	}
	bob.must(t, ipc.OpGetShared, ipc.GetSharedRequest{Key: "dump"}, &res)
	if res.Shared.Content != big || res.Shared.Size != len(big) {
		t.Fatalf("get_shared of the large value: %d bytes, size %d", len(res.Shared.Content), res.Shared.Size)
	}
	bob.must(t, ipc.OpShare, ipc.ShareRequest{Key: "spec:v1", Content: "hello again"}, nil)
	var list ipc.ListSharedResult
	alice.must(t, ipc.OpListShared, nil, &list)
	if len(list.Shared) != 2 {
		t.Fatalf("list_shared = %+v", list.Shared)
	}
	for _, sh := range list.Shared {
		if sh.Content != "" {
			t.Errorf("list_shared carries content for %s", sh.Key)
		}
		if sh.Key == "spec:v1" && (sh.StoredBy != "bob" || sh.Size != len("hello again")) {
			t.Errorf("replaced entry = %+v, want stored by bob", sh)
		}
	}
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpGetShared, ipc.GetSharedRequest{Key: "nope"})
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpShare, ipc.ShareRequest{Key: "../x", Content: "x"})
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpShare, ipc.ShareRequest{Key: "empty"})
	e := alice.refused(t, ipcmesh.CodeTooLarge, ipc.OpShare, ipc.ShareRequest{Key: "huge", Content: strings.Repeat("x", 64<<10+1)})
	wantMention(t, e.Message, "huge", "limit")
}

func TestSearchOnlyWhatTheSearcherMayRead(t *testing.T) {
	forEachStore(t, testSearchOnlyWhatTheSearcherMayRead)
}

func testSearchOnlyWhatTheSearcherMayRead(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev", Members: []string{"bob"}})
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "ops", Private: true, Members: []string{"carol"}})
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "random"}) // public, bob not in it
	dev := alice.send(t, "#dev", "the zebra deploy is done").Message
	ops := alice.send(t, "#ops", "zebra credentials rotated").Message
	random := alice.send(t, "#random", "a zebra at the zoo").Message
	toCarol := alice.send(t, "carol", "zebra between us").Message
	toBob := alice.send(t, "bob", "zebra for bob").Message
	alice.send(t, "bob", "nothing striped here")

	ids := func(msgs []ipcmesh.Message) []string {
		var out []string
		for _, m := range msgs {
			out = append(out, m.ID)
		}
		return out
	}
	for _, indexed := range []bool{false, true} {
		if indexed {
			if err := m.Store.(interface{ WaitIndexed(context.Context) error }).WaitIndexed(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		if got := ids(bob.search(t, ipc.SearchRequest{Query: "zebra"})); !slices.Equal(got, []string{toBob.ID, dev.ID}) {
			t.Errorf("indexed %v: bob finds %v, want his direct message and the #dev post (newest first): %v", indexed, got, []string{toBob.ID, dev.ID})
		}
		if got := ids(carol.search(t, ipc.SearchRequest{Query: "ZEBRA"})); !slices.Equal(got, []string{toCarol.ID, ops.ID}) {
			t.Errorf("indexed %v: carol finds %v, want %v", indexed, got, []string{toCarol.ID, ops.ID})
		}
		// A public channel named explicitly is searched even by a non-member.
		if got := ids(bob.search(t, ipc.SearchRequest{Query: "zebra", Channel: "#random"})); !slices.Equal(got, []string{random.ID}) {
			t.Errorf("indexed %v: bob in #random finds %v", indexed, got)
		}
		if got := ids(bob.search(t, ipc.SearchRequest{Query: "zebra deploy", From: "alice"})); !slices.Equal(got, []string{dev.ID}) {
			t.Errorf("indexed %v: every word must match: %v", indexed, got)
		}
		if got := bob.search(t, ipc.SearchRequest{Query: "zebra", From: "carol"}); len(got) != 0 {
			t.Errorf("indexed %v: from carol finds %v", indexed, ids(got))
		}
		if got := bob.search(t, ipc.SearchRequest{Query: "zebra", Until: dev.Time.Add(-time.Second)}); len(got) != 0 {
			t.Errorf("indexed %v: until before everything finds %v", indexed, ids(got))
		}
		if got := ids(bob.search(t, ipc.SearchRequest{Query: "zebra", Limit: 1})); !slices.Equal(got, []string{toBob.ID}) {
			t.Errorf("indexed %v: limit 1 finds %v", indexed, got)
		}
	}
	// Filters without words: every message they let through.
	if got := ids(bob.search(t, ipc.SearchRequest{Channel: "dev", From: "alice"})); !slices.Equal(got, []string{dev.ID}) {
		t.Errorf("bob's search of #dev without words finds %v", got)
	}
	bob.refused(t, ipcmesh.CodeNotFound, ipc.OpSearch, ipc.SearchRequest{Query: "zebra", Channel: "ops"})
	bob.refused(t, ipcmesh.CodeBadRequest, ipc.OpSearch, ipc.SearchRequest{Query: "  "})
}

func TestSetStatusShowsInList(t *testing.T) { forEachStore(t, testSetStatusShowsInList) }

func testSetStatusShowsInList(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	alice.must(t, ipc.OpSetStatus, ipc.SetStatusRequest{Status: "reviewing auth.go", Description: "the reviewer"}, nil)
	var list ipc.ListResult
	bob.must(t, ipc.OpList, nil, &list)
	found := false
	for _, in := range list.Instances {
		if in.Name == "alice" {
			found = true
			if in.Status != "reviewing auth.go" || in.Description != "the reviewer" || !in.Online {
				t.Errorf("alice in list = %+v", in)
			}
		}
	}
	if !found {
		t.Fatal("alice is not in list")
	}
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSetStatus, ipc.SetStatusRequest{Status: strings.Repeat("x", ipc.MaxStatus+1)})
	// A status is one line of plain text: no line break of any kind, and
	// nothing that acts on a terminal.
	for _, status := range []string{"two\nlines", "two\u2028lines", "next\u0085line", "\x1b[2Kboss", "rtl \u202eok", "tab\there"} {
		alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSetStatus, ipc.SetStatusRequest{Status: status})
	}
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSetStatus, ipc.SetStatusRequest{Description: strings.Repeat("x", ipc.MaxDescription+1)})

	// keep_description sets the status line alone; without it, an absent
	// description clears the one set before, as it always has.
	alice.must(t, ipc.OpSetStatus, ipc.SetStatusRequest{Status: "testing auth.go", KeepDescription: true}, nil)
	if in := instance(t, bob, "alice"); in.Status != "testing auth.go" || in.Description != "the reviewer" {
		t.Errorf("after a status with keep_description, alice in list = %+v; want the description kept", in)
	}
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpSetStatus, ipc.SetStatusRequest{Status: "idle", Description: "the tester", KeepDescription: true})
	alice.must(t, ipc.OpSetStatus, ipc.SetStatusRequest{Status: "idle"}, nil)
	if in := instance(t, bob, "alice"); in.Status != "idle" || in.Description != "" {
		t.Errorf("after a status without a description, alice in list = %+v; want the description cleared", in)
	}
}

// instance is name's record as c's list shows it.
func instance(t *testing.T, c *peer, name string) ipcmesh.Instance {
	t.Helper()
	var list ipc.ListResult
	c.must(t, ipc.OpList, nil, &list)
	for _, in := range list.Instances {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("%s is not in list", name)
	return ipcmesh.Instance{}
}

func TestCollabOpsNeedAName(t *testing.T) { forEachStore(t, testCollabOpsNeedAName) }

func testCollabOpsNeedAName(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	anon := m.dial(t)
	for _, op := range []string{
		ipc.OpChannelCreate, ipc.OpChannelList, ipc.OpChannelJoin, ipc.OpChannelLeave,
		ipc.OpHistory, ipc.OpWaitReply, ipc.OpShare, ipc.OpGetShared, ipc.OpListShared,
		ipc.OpSearch, ipc.OpSetStatus,
	} {
		e := wantCode(t, anon.call(op, struct{}{}, nil), ipcmesh.CodeNotRegistered)
		wantMention(t, e.Message, op, "register")
	}
}
