package natsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// BenchmarkOpenNewView measures what a broker with a new data folder
// pays to open a mesh whose log holds benchEvents messages: applying the
// whole log, or reading the copy of the views made at its last event.
func BenchmarkOpenNewView(b *testing.B) {
	const benchEvents = 50_000
	for _, bc := range []struct {
		name  string
		every uint64
	}{
		{"replay", natsstore.DefaultSnapshotEvery}, // more than the log holds: no copy
		{"copy", benchEvents},
	} {
		b.Run(bc.name, func(b *testing.B) {
			p := shared.Prefix()
			o := natsstore.Options{URL: shared.Get(b).URL(), Prefix: p, Store: store.Options{Dir: b.TempDir()}}
			natsstore.SnapshotEvery(&o, bc.every)
			ctx := context.Background()
			a, err := natsstore.Open(ctx, o, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			fillLog(b, p, benchEvents-1)
			// The last event is the broker's: with every set so, it makes
			// the copy.
			if _, err := a.Append(ctx, []store.Draft{{ID: "last", From: "alice", To: "bob", Content: "the last"}}); err != nil {
				b.Fatal(err)
			}
			if bc.every == benchEvents {
				snaps, err := jetStreamAt(b, o.URL).ObjectStore(ctx, p+"-snapshots")
				if err != nil {
					b.Fatal(err)
				}
				for deadline := time.Now().Add(time.Minute); len(objectNames(snaps)) == 0; time.Sleep(10 * time.Millisecond) {
					if time.Now().After(deadline) {
						b.Fatal("no copy of the views after a minute")
					}
				}
			}
			b.ResetTimer()
			for b.Loop() {
				fresh := o
				fresh.Store.Dir = b.TempDir()
				octx, cancel := context.WithTimeout(ctx, 5*time.Minute)
				s, err := natsstore.Open(octx, fresh, nil)
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				if n, err := s.UnreadCount("bob"); err != nil || n != benchEvents {
					b.Fatalf("the new view has %d unread for bob (%v), want %d", n, err, benchEvents)
				}
				s.Close()
			}
		})
	}
}

// fillLog publishes n messages to bob straight into the log of the mesh
// of prefix, as events of a broker, without waiting for each ack.
func fillLog(b *testing.B, prefix string, n int) {
	b.Helper()
	js := jetStreamAt(b, shared.Get(b).URL())
	content := strings.Repeat("x", 200)
	var acks []jetstream.PubAckFuture
	for i := range n {
		args, _ := json.Marshal(map[string]any{"drafts": []store.Draft{{ID: fmt.Sprintf("m%d", i), From: "alice", To: "bob", Content: content}}})
		ev, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("fill.%d", i), "op": "append", "time": time.Now().UTC(), "args": json.RawMessage(args)})
		ack, err := js.PublishAsync(prefix+".log", ev)
		if err != nil {
			b.Fatal(err)
		}
		acks = append(acks, ack)
	}
	for _, ack := range acks {
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			b.Fatal(err)
		}
	}
}
