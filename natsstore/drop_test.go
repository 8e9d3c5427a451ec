package natsstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// Drop takes a mesh's stream and buckets out of the cluster, leaves the
// meshes of other prefixes alone, and does nothing the second time.
func TestDropRemovesOnlyItsMesh(t *testing.T) {
	ctx := context.Background()
	gone, kept := shared.Prefix(), natsmesh.Prefix(t, &shared)
	a := openHost(t, gone, nil)
	mustAppend(t, a, draft("m1", "alice", "bob", "to be dropped"))
	b := openHost(t, kept, nil)
	mustAppend(t, b, draft("m1", "alice", "bob", "to be kept"))
	a.Close()
	if err := natsstore.Drop(ctx, a.opts); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if err := natsstore.Drop(ctx, a.opts); err != nil {
		t.Errorf("Drop of a dropped mesh: %v", err)
	}

	js := sharedJetStream(t)
	// The cluster's list of streams follows the deletions a moment later.
	var left []string
	eventually(t, "the dropped mesh's streams to leave the cluster's list", func() bool {
		left = streams(t, js)
		return !slices.Contains(left, gone) && !slices.Contains(left, "KV_"+gone+"-names") &&
			!slices.Contains(left, "OBJ_"+gone+"-bodies") && !slices.Contains(left, "OBJ_"+gone+"-snapshots")
	})
	for _, name := range []string{kept, "KV_" + kept + "-names", "OBJ_" + kept + "-bodies", "OBJ_" + kept + "-snapshots"} {
		if !slices.Contains(left, name) {
			t.Errorf("stream %s is gone from the cluster (streams: %v); want only the dropped mesh's gone", name, left)
		}
	}
	if n, err := b.UnreadCount("bob"); err != nil || n != 1 {
		t.Errorf("the kept mesh has %d unread for bob (%v), want 1", n, err)
	}

	// A mesh made again under the dropped prefix starts empty, its old
	// view in the data folder built anew.
	o := a.opts
	o.Store = store.Options{Dir: o.Store.Dir}
	again := reopen(t, o)
	if n, err := again.UnreadCount("bob"); err != nil || n != 0 {
		t.Errorf("a mesh made again after Drop has %d unread for bob (%v), want 0", n, err)
	}
}

// streams lists the streams of the cluster, the list asked for again
// while the cluster fails to give it for a moment.
func streams(t *testing.T, js jetstream.JetStream) []string {
	t.Helper()
	var all []string
	err := settled(context.Background(), func(ctx context.Context) error {
		all = all[:0]
		names := js.StreamNames(ctx)
		for name := range names.Name() {
			all = append(all, name)
		}
		return names.Err()
	})
	if err != nil {
		t.Fatalf("list the streams of the cluster: %v", err)
	}
	return all
}
