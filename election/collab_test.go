package election

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// joinWith starts a peer with cfg adjusted by tweak and registers name.
func (m *mesh) joinWith(name string, tweak func(*Config)) *Peer {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := m.config()
	tweak(&cfg)
	p, err := Join(ctx, cfg)
	if err != nil {
		m.t.Fatalf("join: %v", err)
	}
	m.t.Cleanup(func() { p.Close() })
	if _, err := p.Register(ctx, name); err != nil {
		m.t.Fatalf("register %s: %v", name, err)
	}
	return p
}

// threadWaiters counts the wait_reply requests waiting on p's broker.
func threadWaiters(p *Peer) int {
	p.mu.Lock()
	b := p.broker
	p.mu.Unlock()
	if b == nil {
		return -1
	}
	return b.ThreadWaiters()
}

func TestWaitReplyAcrossFailover(t *testing.T) {
	m := newMesh(t)
	host := m.join("alice")
	bob := m.join("bob")
	ctx := ctxT(t)
	req, err := bob.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "review PR 42?", Type: ipcmesh.TypeRequest}})
	if err != nil {
		t.Fatal(err)
	}
	if req.Message.ID == "" {
		t.Fatal("SendMessage made no id")
	}
	type answer struct {
		r   ipc.WaitReplyResult
		err error
	}
	got := make(chan answer, 1)
	go func() {
		r, err := bob.WaitReply(ctx, req.Message.ID, 15*time.Second)
		got <- answer{r, err}
	}()
	// bob's wait is in place on the broker that is about to die.
	deadline := time.Now().Add(10 * time.Second)
	for threadWaiters(host) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("bob's wait_reply never reached the broker")
		}
		time.Sleep(time.Millisecond)
	}
	kill(t, host)
	// alice's reply goes to whichever peer hosts next; bob's wait is
	// carried there and still sees it.
	reply, err := host.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "merged", Type: ipcmesh.TypeDone, ReplyTo: req.Message.ID}})
	if err != nil {
		t.Fatalf("reply after the failover: %v", err)
	}
	a := <-got
	if a.err != nil {
		t.Fatalf("WaitReply across the failover: %v", a.err)
	}
	if len(a.r.Messages) != 1 || a.r.Messages[0].ID != reply.Message.ID || !a.r.Done {
		t.Fatalf("WaitReply = %+v, want alice's done reply", a.r)
	}
}

func TestWaitReplyTimesOutEmpty(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice")
	m.join("bob")
	ctx := ctxT(t)
	q, err := alice.Send(ctx, "bob", "anyone?")
	if err != nil {
		t.Fatal(err)
	}
	r, err := alice.WaitReply(ctx, q.Message.ID, 20*time.Millisecond)
	if err != nil || len(r.Messages) != 0 || r.Done {
		t.Fatalf("WaitReply with no reply = %+v, %v; want nothing", r, err)
	}
	if _, err := alice.WaitReply(ctx, "no-such-message", time.Second); ipcmesh.CodeOf(err) != ipcmesh.CodeNotFound {
		t.Fatalf("WaitReply on an unknown id: %v, want not_found", err)
	}
}

// A channel post pushed to a member, then read by Check, is acked through
// Peer.Ack and stays acked across a failover.
func TestChannelPostAckedThroughPeer(t *testing.T) {
	m := newMesh(t)
	pushed := make(chan ipcmesh.Message, 16)
	host := m.joinWith("alice", func(c *Config) {
		c.Subscribe = true
		c.OnEvent = func(ev ipc.Event) {
			var msg ipcmesh.Message
			if ev.Name == ipc.EventMessage && json.Unmarshal(ev.Body, &msg) == nil {
				pushed <- msg
			}
		}
	})
	bob := m.join("bob")
	ctx := ctxT(t)
	if _, err := host.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "Dev", Members: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	first, err := bob.Send(ctx, "#dev", "first")
	if err != nil {
		t.Fatal(err)
	}
	if first.Channel != "dev" || first.Members != 1 {
		t.Fatalf("post = %+v", first)
	}
	p := <-pushed
	if p.ID != first.Message.ID || p.Channel != "dev" {
		t.Fatalf("pushed %+v, want the post", p)
	}
	if n, err := host.Ack(ctx, []string{p.ID}); err != nil || n != 1 {
		t.Fatalf("ack of the pushed post: %d, %v", n, err)
	}
	c, err := host.Check(ctx, 10, 0)
	if err != nil || len(c.Messages) != 0 {
		t.Fatalf("check after acking the push = %+v, %v; want nothing", c.Messages, err)
	}

	second, err := bob.Send(ctx, "#dev", "second")
	if err != nil {
		t.Fatal(err)
	}
	<-pushed
	c, err = host.Check(ctx, 10, 0)
	if err != nil || len(c.Messages) != 1 || c.Messages[0].ID != second.Message.ID {
		t.Fatalf("check = %+v, %v; want the second post", c.Messages, err)
	}
	if _, err := host.Ack(ctx, []string{c.Messages[0].ID}); err != nil {
		t.Fatal(err)
	}
	kill(t, host)
	c, err = host.Check(ctx, 10, 0)
	if err != nil || len(c.Messages) != 0 {
		t.Fatalf("check after the failover = %+v, %v; want nothing", c.Messages, err)
	}
	third, err := bob.Send(ctx, "#dev", "third")
	if err != nil {
		t.Fatal(err)
	}
	c, err = host.Check(ctx, 10, 5*time.Second)
	if err != nil || len(c.Messages) != 1 || c.Messages[0].ID != third.Message.ID {
		t.Fatalf("check after the failover = %+v, %v; want only the third post", c.Messages, err)
	}
}

// Every collaboration method of Peer, end to end through a real broker.
func TestPeerCollabMethods(t *testing.T) {
	m := newMesh(t)
	alice := m.join("alice")
	bob := m.join("bob")
	ctx := ctxT(t)

	cr, err := alice.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "#Auth Dev", Description: "auth work"})
	if err != nil || cr.Channel.Name != "auth-dev" {
		t.Fatalf("CreateChannel = %+v, %v", cr, err)
	}
	if cr, err = bob.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: "auth-dex"}); err != nil || cr.Warning == "" {
		t.Fatalf("CreateChannel of a near name = %+v, %v; want a warning", cr, err)
	}
	chans, err := bob.Channels(ctx, "auth work")
	if err != nil || len(chans) != 2 {
		t.Fatalf("Channels = %+v, %v", chans, err)
	}
	ch, err := bob.JoinChannel(ctx, "auth-dev", nil)
	if err != nil || !slices.Equal(ch.Members, []string{"alice", "bob"}) {
		t.Fatalf("JoinChannel = %+v, %v", ch, err)
	}
	post, err := alice.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#auth-dev", Content: "token expiry bug found", Type: ipcmesh.TypeStatus}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "#auth-dev", Content: "fixing it", ReplyTo: post.Message.ID}}); err != nil {
		t.Fatal(err)
	}
	h, err := alice.History(ctx, ipc.HistoryRequest{Thread: post.Message.ID})
	if err != nil || len(h.Messages) != 2 {
		t.Fatalf("History of the thread = %+v, %v", h, err)
	}
	h, err = bob.History(ctx, ipc.HistoryRequest{Channel: "auth-dev", Limit: 1})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Content != "fixing it" || !h.More {
		t.Fatalf("History of the channel = %+v, %v", h, err)
	}
	found, err := bob.Search(ctx, ipc.SearchRequest{Query: "expiry"})
	if err != nil || len(found.Messages) != 1 || found.Messages[0].ID != post.Message.ID || found.More {
		t.Fatalf("Search = %+v, %v", found, err)
	}
	if left, err := bob.LeaveChannel(ctx, "auth-dev"); err != nil || !left {
		t.Fatalf("LeaveChannel = %v, %v; want true", left, err)
	}
	if left, err := bob.LeaveChannel(ctx, "auth-dev"); err != nil || left {
		t.Fatalf("LeaveChannel a second time = %v, %v; want false: bob was no longer in it", left, err)
	}
	if found, err = bob.Search(ctx, ipc.SearchRequest{Query: "expiry"}); err != nil || len(found.Messages) != 0 {
		t.Fatalf("Search after leaving = %+v, %v; want nothing", found, err)
	}

	sh, err := alice.Share(ctx, "notes", "the whole design", "design notes")
	if err != nil || sh.Size != len("the whole design") || sh.StoredBy != "alice" {
		t.Fatalf("Share = %+v, %v", sh, err)
	}
	if sh, err = bob.GetShared(ctx, "notes"); err != nil || sh.Content != "the whole design" {
		t.Fatalf("GetShared = %+v, %v", sh, err)
	}
	list, err := bob.ListShared(ctx)
	if err != nil || len(list) != 1 || list[0].Key != "notes" {
		t.Fatalf("ListShared = %+v, %v", list, err)
	}

	if err := alice.SetStatus(ctx, "fixing auth", "works on the auth service"); err != nil {
		t.Fatal(err)
	}
	insts, err := bob.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range insts {
		if in.Name == "alice" && (in.Status != "fixing auth" || in.Description != "works on the auth service") {
			t.Errorf("alice in List = %+v", in)
		}
	}
}
