package natsstore_test

import (
	"context"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// Drop takes a mesh's stream and buckets out of the cluster, leaves the
// meshes of other prefixes alone, and does nothing the second time.
func TestDropRemovesOnlyItsMesh(t *testing.T) {
	ctx := context.Background()
	gone, kept := shared.Prefix(), shared.Prefix()
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

	nc, err := nats.Connect(shared.Get(t).URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	names := js.StreamNames(ctx)
	var left []string
	for name := range names.Name() {
		left = append(left, name)
	}
	if names.Err() != nil {
		t.Fatal(names.Err())
	}
	for _, want := range []struct {
		stream string
		there  bool
	}{
		{gone, false}, {"KV_" + gone + "-names", false}, {"OBJ_" + gone + "-bodies", false},
		{kept, true}, {"KV_" + kept + "-names", true}, {"OBJ_" + kept + "-bodies", true},
	} {
		there := false
		for _, name := range left {
			there = there || name == want.stream
		}
		if there != want.there {
			t.Errorf("stream %s in the cluster: %v, want %v (streams: %v)", want.stream, there, want.there, left)
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
