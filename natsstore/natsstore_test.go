package natsstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/natstest"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

var (
	_ ipc.Mesh   = (*natsstore.Store)(nil)
	_ ipc.Logged = (*natsstore.Store)(nil)
)

// shared is the three-node cluster on loopback that every test here
// shares, each test with a stream and buckets of its own.
var shared natstest.Cluster

func TestMain(m *testing.M) { os.Exit(natstest.Main(m, &shared)) }

// host is one broker's store: a data folder of its own on the shared
// cluster, under the test's prefix.
type host struct {
	*natsstore.Store
	opts natsstore.Options
}

func openHost(t *testing.T, prefix string, tweak func(*natsstore.Options)) *host {
	t.Helper()
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: prefix, Store: store.Options{Dir: t.TempDir()}}
	if tweak != nil {
		tweak(&o)
	}
	return reopen(t, o)
}

func reopen(t *testing.T, o natsstore.Options) *host {
	t.Helper()
	return reopenLogged(t, o, nil)
}

// reopenLogged opens the host's store with logs going to log.
func reopenLogged(t *testing.T, o natsstore.Options, log *slog.Logger) *host {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := natsstore.Open(ctx, o, log)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return &host{s, o}
}

func draft(id, from, to, content string) store.Draft {
	return store.Draft{ID: id, From: from, To: to, Content: content}
}

func mustAppend(t *testing.T, h *host, d store.Draft) store.Delivery {
	t.Helper()
	ds, err := h.Append(context.Background(), []store.Draft{d})
	if err != nil {
		t.Fatalf("Append %s: %v", d.ID, err)
	}
	if ds[0].Err != nil {
		t.Fatalf("Append %s: %v", d.ID, ds[0].Err)
	}
	return ds[0]
}

func TestMailCrossesHostsAndIsPushed(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a, b := openHost(t, p, nil), openHost(t, p, nil)
	arrived := make(chan []store.Delivery, 10)
	b.Arrivals(func(ds []store.Delivery) { arrived <- ds })
	ctx := context.Background()
	if err := a.PutSession(ctx, store.Session{Name: "bob", ID: "s1", Expires: time.Now().Add(time.Hour), Secret: "5ec7e7a9"}); err != nil {
		t.Fatal(err)
	}
	d := mustAppend(t, a, draft("m1", "alice", "bob", "hello from A"))
	if d.Queued || d.Duplicate {
		t.Fatalf("delivery = %+v, want a plain delivery to a registered name", d)
	}
	select {
	case ds := <-arrived:
		if len(ds) != 1 || ds[0].Message.ID != "m1" || ds[0].Message.Seq != d.Message.Seq {
			t.Fatalf("B was told of %+v, want m1 with seq %d", ds, d.Message.Seq)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("B was never told of the message A stored")
	}
	// The session was stored before the message, so B's view has it.
	if s, ok, err := b.Session("bob"); err != nil || !ok || s.ID != "s1" || s.Secret != "5ec7e7a9" {
		t.Errorf("B's view of bob's session = %+v, %v, %v; want s1 with the tag of its secret", s, ok, err)
	}
	msgs, err := b.Unread("bob", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Content != "hello from A" {
		t.Fatalf("B's Unread(bob) = %v, %v; want the message from A", msgs, err)
	}
	if n, err := b.Ack(ctx, "bob", []string{"m1"}); err != nil || n != 1 {
		t.Fatalf("Ack on B = %d, %v", n, err)
	}
	// The retry of a send that reached A, arriving at B after a failover.
	again, err := b.Append(ctx, []store.Draft{draft("m1", "alice", "bob", "hello from A")})
	if err != nil || !again[0].Duplicate {
		t.Fatalf("the same id through B = %+v, %v; want a duplicate", again, err)
	}
	a.waitUnread(t, "bob", 0)
}

// waitUnread waits until h's view shows n unread for name: another host's
// write reaches this view within moments of its ack, not at it.
func (h *host) waitUnread(t *testing.T, name string, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d unread for %s", n, name), func() bool {
		got, err := h.UnreadCount(name)
		return err == nil && got == n
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, not yet: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestViewIsRebuiltFromTheLog(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, nil)
	ctx := context.Background()
	for i := range 50 {
		mustAppend(t, a, draft(fmt.Sprintf("m%d", i), "alice", "bob", fmt.Sprintf("note %d", i)))
	}
	if _, err := a.Ack(ctx, "bob", []string{"m0", "m1"}); err != nil {
		t.Fatal(err)
	}
	o := a.opts
	a.Close()
	// The view is a copy: lost, it is built again from the log.
	if err := os.RemoveAll(filepath.Join(o.Store.Dir, "nats", p)); err != nil {
		t.Fatal(err)
	}
	again := reopen(t, o)
	msgs, err := again.Unread("bob", 100)
	if err != nil || len(msgs) != 48 || msgs[0].ID != "m2" {
		t.Fatalf("after rebuilding, Unread(bob) = %d messages (first %v), %v; want 48 from m2", len(msgs), first(msgs), err)
	}
	// And reopened with its view, nothing is applied twice.
	again.Close()
	third := reopen(t, o)
	if n, err := third.UnreadCount("bob"); err != nil || n != 48 {
		t.Fatalf("after reopening, UnreadCount(bob) = %d, %v; want 48", n, err)
	}
}

func first(msgs []ipcmesh.Message) any {
	if len(msgs) == 0 {
		return nil
	}
	return msgs[0].ID
}

func TestLargeMessageTravelsThroughTheObjectStore(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a, b := openHost(t, p, nil), openHost(t, p, nil)
	body := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB, over NATS's 1 MiB payload
	mustAppend(t, a, draft("big", "alice", "bob", body))
	b.waitUnread(t, "bob", 1)
	m, content, err := b.Get("bob", "big")
	if err != nil || content != body || !m.Large {
		t.Fatalf("B's Get(big) = large %v, %d bytes, %v; want the whole %d bytes", m.Large, len(content), err, len(body))
	}
}

// Hosts whose IPC_MAX_MESSAGE_BYTES and IPC_INBOX_CAP differ each decide
// the writes made on them by their own limits, and every view holds what
// was decided: what A stored, B's users read, though B would have refused
// it.
func TestHostsWithOtherLimitsHoldTheSame(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, func(o *natsstore.Options) { o.Store.MaxMessageBytes, o.Store.InboxCap = 1000, 3 })
	b := openHost(t, p, func(o *natsstore.Options) { o.Store.MaxMessageBytes, o.Store.InboxCap = 100, 1 })
	ctx := context.Background()
	mustAppend(t, a, draft("long", "alice", "bob", strings.Repeat("x", 500)))
	mustAppend(t, a, draft("second", "alice", "bob", "a second one"))
	b.waitUnread(t, "bob", 2)
	if _, content, err := b.Get("bob", "long"); err != nil || len(content) != 500 {
		t.Errorf("B's Get(long) = %d bytes, %v; want the 500 A stored", len(content), err)
	}
	// B's own writes by B's limits: bob's inbox is over B's cap of 1.
	ds, err := b.Append(ctx, []store.Draft{draft("third", "carol", "bob", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeInboxFull)
	// A value shared through A is B's to read.
	if _, err := a.Share(ctx, ipcmesh.Shared{Key: "notes", Content: strings.Repeat("y", 800), StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the shared value on B", func() bool {
		sh, err := b.GetShared("notes")
		return err == nil && len(sh.Content) == 800
	})
	// A draft over the limit of the host it is sent to is refused there,
	// and the draft beside it stored.
	ds, err = a.Append(ctx, []store.Draft{draft("huge", "alice", "carol", strings.Repeat("z", 1001)), draft("ok", "alice", "carol", "fits")})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeTooLarge)
	if ds[1].Err != nil || ds[1].Message.ID != "ok" {
		t.Fatalf("the draft beside the one too large = %+v, want it stored", ds[1])
	}
}

func TestNoQuorumRefusesWritesAndLosesNothing(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, func(o *natsstore.Options) { o.WriteTimeout = 2 * time.Second })
	ctx := context.Background()
	for i := range 10 {
		mustAppend(t, a, draft(fmt.Sprintf("before%d", i), "alice", "bob", "acked while the cluster was whole"))
	}
	nats := shared.Get(t)
	nats.Stop(1)
	nats.Stop(2)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			nats.Restart(ctx, 1)
			nats.Restart(ctx, 2)
		}
	})
	_, err := a.Append(ctx, []store.Draft{draft("during", "alice", "bob", "sent without quorum")})
	e := wantCode(t, err, ipcmesh.CodeUnavailable)
	if !strings.Contains(e.Message, "quorum") && !strings.Contains(e.Message, "not connected") {
		t.Errorf("the error says %q; want it to say the cluster has no quorum or cannot be reached", e.Message)
	}
	if !strings.HasPrefix(e.Message, "could not store the message:") || !strings.Contains(e.Message, "same id is never stored twice") {
		t.Errorf("the error says %q; want it to begin with what could not be stored, in the sender's words, and say that it may be sent again", e.Message)
	}
	err = a.SetStatus(ctx, "bob", "busy", nil)
	if e := wantCode(t, err, ipcmesh.CodeUnavailable); !strings.HasPrefix(e.Message, "could not store the status:") || strings.Contains(e.Message, "same id") {
		t.Errorf("a status set without quorum says %q; want it to begin with what could not be stored, not the log's name for it, and nothing of a message's id", e.Message)
	}
	// Reads go on from the view meanwhile.
	if n, err := a.UnreadCount("bob"); err != nil || n < 10 {
		t.Fatalf("UnreadCount without quorum = %d, %v; want the 10 acked", n, err)
	}

	for _, i := range []int{1, 2} {
		if err := nats.Restart(ctx, i); err != nil {
			t.Fatalf("restart node %d: %v", i, err)
		}
	}
	restarted = true
	// The client resends what was refused, with the same id, until the
	// cluster has elected its leaders again.
	eventually(t, "a send is acked once quorum is back", func() bool {
		ds, err := a.Append(ctx, []store.Draft{draft("during", "alice", "bob", "sent without quorum")})
		return err == nil && ds[0].Err == nil
	})
	mustAppend(t, a, draft("after", "alice", "bob", "sent after"))
	msgs, err := a.Unread("bob", 100)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range msgs {
		count[m.ID]++
	}
	for i := range 10 {
		if id := fmt.Sprintf("before%d", i); count[id] != 1 {
			t.Errorf("%s is there %d times, want once", id, count[id])
		}
	}
	if count["during"] != 1 || count["after"] != 1 || len(msgs) != 12 {
		t.Errorf("unread = %v (%d messages); want the 10 before, during and after, each once", count, len(msgs))
	}
}

func wantCode(t *testing.T, err error, code ipcmesh.Code) *ipcmesh.Error {
	t.Helper()
	e, ok := err.(*ipcmesh.Error)
	if !ok || e.Code != code {
		t.Fatalf("err = %v, want code %s", err, code)
	}
	return e
}

// TestMoreReplicasThanServersIsNamed: a mesh asked to keep each write on
// more servers than the cluster has up is waited for, as a forming cluster
// or one whose servers restart must be, and once the wait is over is
// refused with what to change. The wait is logged as it starts: a broker
// waited a minute before it said anything, in its log or to its commands.
func TestMoreReplicasThanServersIsNamed(t *testing.T) {
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: shared.Prefix(), Replicas: 5, Store: store.Options{Dir: t.TempDir()}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	s, err := natsstore.Open(ctx, o, slog.New(rec))
	if err == nil {
		s.Close()
		t.Fatal("Open with 5 replicas on a cluster of 3 servers succeeded")
	}
	if !strings.Contains(err.Error(), "IPC_NATS_REPLICAS") || !strings.Contains(err.Error(), "fewer than 5") {
		t.Errorf("Open with 5 replicas on 3 servers: %v; want it to say the cluster has fewer than 5 servers and to name IPC_NATS_REPLICAS", err)
	}
	if n := rec.count(slog.LevelWarn, "waiting for 5 servers"); n != 1 || rec.count(slog.LevelWarn, "IPC_NATS_REPLICAS") != 1 {
		t.Errorf("an Open with 5 replicas on 3 servers logged %d warnings that it waits for 5 servers; want one, naming IPC_NATS_REPLICAS", n)
	}
}

// A single NATS server with JetStream (nats-server -js, or a broker's
// --nats-node without routes) holds one copy of each write: the default of
// three replicas is refused there, and the refusal says which setting
// makes it work, at once rather than after the open's whole wait.
func TestSingleServerNamesTheReplicasSetting(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node := soloNode(ctx, t)

	o := natsstore.Options{URL: node.ClientURL(), Store: store.Options{Dir: t.TempDir()}}
	s, err := natsstore.Open(ctx, o, nil)
	if err == nil {
		s.Close()
		t.Fatal("Open with 3 replicas on a server that is in no cluster succeeded")
	}
	if ctx.Err() != nil {
		t.Fatalf("Open waited out its context instead of saying why it cannot work: %v", err)
	}
	for _, want := range []string{"IPC_NATS_REPLICAS=1", "not in a cluster", "--nats-routes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open with 3 replicas on a server of its own: %v; want it to say %q", err, want)
		}
	}

	// With one replica the server keeps the mesh.
	o.Replicas = 1
	s, err = natsstore.Open(ctx, o, nil)
	if err != nil {
		t.Fatalf("Open with IPC_NATS_REPLICAS=1 on a server of its own: %v", err)
	}
	s.Close()
}

// A host's view follows the log a moment behind: a channel made on host
// B, acked, may not be in host A's view yet, and the broker of A, which
// reads its view, answered a post to it with "no channel #ops". CatchUp
// brings A's view up to the log, as the broker asks before it refuses
// (ipc.Follower). A's consumer is stopped, as it is for seconds after its
// server died, so that the lag lasts until CatchUp.
func TestCatchUpBringsWhatAnotherHostWrote(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a, b := openHost(t, p, nil), openHost(t, p, nil)
	a.StopFollowing()
	ctx := t.Context()
	if _, err := b.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "bob", Members: []string{"bob"}}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Channel("ops"); ok {
		t.Fatal("A's view has B's channel with its consumer stopped: nothing lags")
	}
	var f ipc.Follower = a.Store
	if err := f.CatchUp(ctx); err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	if ch, ok, err := a.Channel("ops"); err != nil || !ok || ch.CreatedBy != "bob" {
		t.Fatalf("A's view after CatchUp: %+v, %v, %v; want B's channel", ch, ok, err)
	}
	// Caught up, it asks the cluster and reads nothing more.
	if err := f.CatchUp(ctx); err != nil {
		t.Fatalf("CatchUp when caught up: %v", err)
	}
}

// TestWritesGoOnWhileTheConsumerIsSilent: a host's consumer of the log
// delivers nothing for a minute and more once the NATS server serving it
// hangs (SIGSTOP: a host that hangs, or is cut off without a reset): the
// client library makes it anew on a server the cluster picks, the hung
// one perhaps again, each try waiting out 10 s. Every write of the host
// waited meanwhile, as for a consumer only slow, 100 ms for its event
// before it read the event from the log itself: 300 writes took 32 s with
// the consumer's server stopped. A write waits so once the consumer is
// silent, and not again until it delivers. The consumer is stopped here,
// as it is silent then. What is checked is that wait, not the writes'
// speed: on a busy machine 100 writes take seconds either way.
func TestWritesGoOnWhileTheConsumerIsSilent(t *testing.T) {
	const writes = 100
	a := openHost(t, natsmesh.Prefix(t, &shared), nil)
	a.StopFollowing()
	start := time.Now()
	for i := range writes {
		mustAppendTo(t, a.Store, draft(fmt.Sprintf("silent-%03d", i), "alice", "bob", "written with the consumer silent"))
		if p := a.ConsumerPatience(); p != 0 {
			t.Fatalf("after write %d with the log's consumer silent, the next write would wait %v for the consumer; want no wait until it delivers", i+1, p)
		}
	}
	t.Logf("%d writes in %v with the consumer silent", writes, time.Since(start).Round(time.Millisecond))
	if n, err := a.UnreadCount("bob"); err != nil || n != writes {
		t.Errorf("bob's unread = %d, %v; want %d", n, err, writes)
	}
}

// mustAppendTo appends d to s, failing the test if it is not stored.
func mustAppendTo(t *testing.T, s *natsstore.Store, d store.Draft) {
	t.Helper()
	ds, err := s.Append(context.Background(), []store.Draft{d})
	if err != nil {
		t.Fatalf("Append %s: %v", d.ID, err)
	}
	if ds[0].Err != nil {
		t.Fatalf("Append %s: %v", d.ID, ds[0].Err)
	}
}

// TestCatchUpOfAViewFarBehind: a view many events behind the log (its
// host slept while another wrote) reads them in batches, and applies
// each once, in the log's order, whatever it is: mail, a channel, a
// register.
func TestCatchUpOfAViewFarBehind(t *testing.T) {
	const sends = 300
	p := natsmesh.Prefix(t, &shared)
	a, b := openHost(t, p, nil), openHost(t, p, nil)
	a.StopFollowing()
	ctx := t.Context()
	for i := range sends {
		mustAppendTo(t, b.Store, draft(fmt.Sprintf("far-%03d", i), "alice", "bob", fmt.Sprintf("message %d", i)))
		if i == sends/2 {
			if _, err := b.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "bob", Members: []string{"bob"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A's view lags, but for what it read itself each second it was
	// idle (keepUp): in batches too, the last of them here.
	var f ipc.Follower = a.Store
	if err := f.CatchUp(ctx); err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	msgs, err := a.Unread("bob", 2*sends)
	if err != nil || len(msgs) != sends {
		t.Fatalf("A's view after CatchUp has %d unread for bob (%v), want %d", len(msgs), err, sends)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("message %d", i); m.Content != want {
			t.Fatalf("bob's unread message %d in A's view is %q, want %q: the log was not applied in order", i, m.Content, want)
		}
	}
	if ch, ok, err := a.Channel("ops"); err != nil || !ok || ch.CreatedBy != "bob" {
		t.Fatalf("A's view after CatchUp: %+v, %v, %v; want B's channel", ch, ok, err)
	}
	// A's own write after it is applied once.
	mustAppendTo(t, a.Store, draft("after", "alice", "bob", "after the catch-up"))
	if n, err := a.UnreadCount("bob"); err != nil || n != sends+1 {
		t.Errorf("A's view has %d unread for bob after its own write (%v), want %d", n, err, sends+1)
	}
}
