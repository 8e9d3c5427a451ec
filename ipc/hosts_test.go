package ipc_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// Cluster mode as two hosts see it: two brokers, each on a loopback port
// and a data folder of its own, keep one mesh in the NATS cluster, as the
// brokers of two machines do.

// startHosts starts two brokers that share a mesh in the test cluster and
// a secret.
func startHosts(t *testing.T) (a, b *mesh) {
	t.Helper()
	prefix := natsMesh(t)
	keys := newKeys(t)
	start := func() *mesh {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := natsstore.Open(ctx, natsstore.Options{URL: natsCluster.Get(t).URL(), Prefix: prefix, Store: store.Options{Dir: t.TempDir()}, WriteTimeout: natsWriteTimeout}, nil)
		if err != nil {
			t.Fatalf("open the NATS store: %v", err)
		}
		var o meshOptions
		o.Config.Keys = keys
		return serveMesh(t, st, o)
	}
	return start(), start()
}

// Mail sent on host A reaches its recipient on host B as it does on one
// host: pushed at once, waking a waiting check, and the sender is told
// the recipient is online; a channel post reaches a member on B likewise.
func TestMailFromAnotherHostIsPushed(t *testing.T) {
	a, b := startHosts(t)
	if a.Addr == b.Addr {
		t.Fatalf("both brokers serve %s", a.Addr)
	}
	alice := a.join(t, "alice")
	bob := b.join(t, "bob")
	// Host A hears of bob's lease on B a moment after B took it.
	testbin.Eventually(t, callTimeout, "host A to list bob online", func() bool {
		var l ipc.ListResult
		alice.must(t, ipc.OpList, nil, &l)
		for _, in := range l.Instances {
			if in.Name == "bob" && in.Online {
				return true
			}
		}
		return false
	})

	res := alice.send(t, "bob", "from host A")
	if !res.Online {
		t.Error("a send to bob, connected to host B, says bob is offline")
	}
	bob.Events.await(t, ipc.EventMessage, isMessage(res.Message.ID))

	waiting := b.dial(t)
	waiting.must(t, ipc.OpResume, ipc.ResumeRequest{Token: bob.Session.Token}, nil)
	got := make(chan ipc.CheckResult, 1)
	go func() {
		var r ipc.CheckResult
		if err := waiting.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: callTimeout.Milliseconds(), After: res.Message.Seq}, &r); err != nil {
			t.Errorf("check waiting on host B: %v", err)
		}
		got <- r
	}()
	awaitWaiting(t, waiting, 1)
	second := alice.send(t, "bob", "while bob waits")
	if r := <-got; len(r.Messages) != 1 || r.Messages[0].ID != second.Message.ID {
		t.Fatalf("bob's waiting check on host B returned %+v, want the message sent on host A", r.Messages)
	}

	// Host A's view has the channel only a moment after host B made it:
	// a post right after the create is not refused for that, as host A
	// catches up with the cluster's log before it refuses.
	bob.createChannel(t, ipc.ChannelCreateRequest{Name: "ops", Members: []string{"alice"}})
	post := alice.send(t, "#ops", "deploy at noon")
	bob.Events.await(t, ipc.EventMessage, isMessage(post.Message.ID))

	// A wait for a reply on host B returns with the reply made on A.
	req := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "please review", Type: ipcmesh.TypeRequest}}).Message
	replied := make(chan ipc.WaitReplyResult, 1)
	go func() {
		var r ipc.WaitReplyResult
		if err := bob.call(ipc.OpWaitReply, ipc.WaitReplyRequest{ID: req.ID, WaitMS: callTimeout.Milliseconds()}, &r); err != nil {
			t.Errorf("wait_reply on host B: %v", err)
		}
		replied <- r
	}()
	testbin.Eventually(t, callTimeout, "bob's wait_reply waiting on host B", func() bool { return b.Broker.ThreadWaiters() == 1 })
	// Host A answers within the thread, whether its view has the
	// request yet or not.
	reply := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "LGTM", Type: ipcmesh.TypeDone, ReplyTo: req.ID}}).Message
	if r := <-replied; len(r.Messages) != 1 || r.Messages[0].ID != reply.ID || !r.Done {
		t.Fatalf("bob's wait_reply on host B returned %+v, want alice's done from host A", r)
	}
}

// A key revoked on one host's broker reaches the connections of its name
// on every host: an HTTP face there ends the streams and requests opened
// with it, as the README promises of a revoked key.
func TestKeyRevokedOnAnotherHostIsPushed(t *testing.T) {
	a, b := startHosts(t)
	human := b.join(t, "human")
	admin := a.dial(t)
	var made ipc.KeyCreateResult
	admin.must(t, ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "human"}, &made)
	var rev ipc.KeyRevokeResult
	admin.must(t, ipc.OpKeyRevoke, ipc.KeyRevokeRequest{ID: made.Info.ID}, &rev)

	// What host A stores after the revoke reaches host B after it: had
	// the revoke been pushed, it came first.
	sent := a.join(t, "carol").send(t, "human", "after the revoke")
	human.Events.await(t, ipc.EventMessage, isMessage(sent.Message.ID))
	if n := human.Events.count(ipc.EventKeyRevoked); n != 1 {
		t.Fatalf("human, connected to host B, was told of %d revoked keys, want the one revoked on host A", n)
	}
	ev := human.Events.await(t, ipc.EventKeyRevoked, nil)
	var k ipcmesh.AccessKey
	if err := json.Unmarshal(ev.Body, &k); err != nil || k.ID != made.Info.ID || k.Revoked.IsZero() {
		t.Errorf("key_revoked = %s, want key %s marked revoked", ev.Body, made.Info.ID)
	}
}
