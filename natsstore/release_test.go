package natsstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/nats-io/nats.go/jetstream"
)

// heldUpdates is the names bucket of a broker whose renewal of a lease
// is written, and held before its answer comes back, until let is
// closed: a release made meanwhile finds the lease at a revision it
// never knew.
type heldUpdates struct {
	jetstream.KeyValue
	written chan struct{}
	let     chan struct{}
}

func (kv *heldUpdates) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	rev, err := kv.KeyValue.Update(ctx, key, value, last)
	close(kv.written)
	<-kv.let
	return rev, err
}

// TestReleaseDuringARenewalWarnsOfNothing: a name released (its instance
// unregistered, renamed or gone) while a renewal of its lease is under
// way: the release deletes the lease at the revision it knew, which the
// renewal has just moved on, and a broker warned "release the mesh-wide
// hold on a name: wrong last sequence", though the renewal, finding the
// name released, deletes the lease itself. The lease goes, and nothing
// warns.
func TestReleaseDuringARenewalWarnsOfNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	kv := soloNames(t, ctx)
	var logs testbin.Buffer
	held := &heldUpdates{KeyValue: kv, written: make(chan struct{}), let: make(chan struct{})}
	l := &leases{kv: held, owner: "host-a", ttl: time.Minute, log: slog.New(slog.NewTextHandler(&logs, nil)), mine: map[string]uint64{}, seen: map[string]lease{}}
	if err := l.claim(ctx, "reviewer"); err != nil {
		t.Fatal(err)
	}

	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		l.renewRound(ctx)
	}()
	select {
	case <-held.written:
	case <-ctx.Done():
		t.Fatal("the renewal wrote nothing")
	}
	l.release("reviewer")
	close(held.let)
	<-renewed

	if _, err := kv.Get(ctx, "reviewer"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Errorf("the lease of the released name: %v; want it deleted", err)
	}
	if l.held("reviewer") {
		t.Error("the released name is still held")
	}
	if s := logs.String(); strings.Contains(s, "level=WARN") {
		t.Errorf("a release during a renewal warned:\n%s", s)
	}
}
