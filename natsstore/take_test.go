package natsstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/cluster"
)

// unansweredGets is the names bucket as a broker sees it while the replica
// that serves its reads is stopped (SIGSTOP) or cut off: writes go to the
// leader and are answered, reads are not, for a while.
type unansweredGets struct {
	jetstream.KeyValue
	until time.Time
	gets  atomic.Int64
}

func (kv *unansweredGets) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	kv.gets.Add(1)
	if time.Now().Before(kv.until) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return kv.KeyValue.Get(ctx, key)
}

// soloNames starts a NATS server of its own and makes a names bucket
// on it, whose leases last a minute.
func soloNames(t *testing.T, ctx context.Context) jetstream.KeyValue {
	t.Helper()
	node, err := cluster.StartNode(ctx, cluster.NodeConfig{Name: "solo", Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("start a NATS server: %v", err)
	}
	t.Cleanup(node.Shutdown)
	nc, err := nats.Connect(node.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "T-names", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestTakeBelievesNoRefusalItDidNotRead: this host's previous broker held
// reviewer when it died, so the create of its successor's lease finds the
// key, and the read that would show the lease as this host's goes
// unanswered for a second. A claim said "held by the broker of another
// host" (name_taken, with names to use instead) after half a second of
// unanswered reads; it must wait for an answer, and take the lease over.
func TestTakeBelievesNoRefusalItDidNotRead(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	kv := soloNames(t, ctx)
	const host = "host-a"
	rev, err := kv.Create(ctx, "reviewer", []byte(host))
	if err != nil {
		t.Fatal(err)
	}
	slow := &unansweredGets{KeyValue: kv, until: time.Now().Add(time.Second)}
	l := &leases{kv: slow, owner: host, ttl: time.Minute, log: slog.New(slog.DiscardHandler), stops: &stops{}, mine: map[string]uint64{}, seen: map[string]lease{}}
	got, err := l.take(ctx, "reviewer")
	if ipcmesh.CodeOf(err) == ipcmesh.CodeNameTaken {
		t.Fatalf("take of a name this host holds, its reads unanswered for a second: %v (after %d reads); want it taken over", err, slow.gets.Load())
	}
	if err != nil || got != rev {
		t.Fatalf("take = %d, %v; want this host's lease, revision %d", got, err, rev)
	}

	// Reads that never answer end in unavailable, with the time the
	// caller gave, never in a refusal.
	slow.until = time.Now().Add(time.Hour)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = l.take(short, "reviewer")
	err = notHeld("reviewer", err)
	if ipcmesh.CodeOf(err) != ipcmesh.CodeUnavailable || !errors.Is(short.Err(), context.DeadlineExceeded) {
		t.Fatalf("take with reads never answered: %v; want unavailable once its time is up", err)
	}
	// With its quorum whole, a cluster whose servers do not answer is
	// most often electing a leader: the error says so, not only that the
	// quorum may be lost.
	if msg := err.Error(); !strings.Contains(msg, "electing a new leader") || !strings.Contains(msg, "quorum") {
		t.Errorf("take with reads never answered says %q; want it to name a lost quorum and a leader's election", msg)
	}
}
