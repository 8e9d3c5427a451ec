package natsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
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
			p := natsmesh.Prefix(b, &shared)
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
				snaps := objectStore(b, jetStreamAt(b, o.URL), p+"-snapshots")
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
func fillLog(b testing.TB, prefix string, n int) {
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

// BenchmarkWritesDuringACopy measures what a copy of the views costs the
// writes made meanwhile: a broker whose view holds 50,000 messages writes
// 1,000 acked messages, then the one that makes it copy its view, and
// goes on writing until the copy is in the cluster. It reports the
// latencies of a write before the copy and during it, and how long the
// copy took, the medians of the runs.
func BenchmarkWritesDuringACopy(b *testing.B) {
	var before50, before99, during50, during99, took []time.Duration
	for b.Loop() {
		before, during := writesAroundACopy(b)
		before50, before99 = append(before50, quantile(before, 0.5)), append(before99, quantile(before, 0.99))
		during50, during99 = append(during50, quantile(during, 0.5)), append(during99, quantile(during, 0.99))
		var copying time.Duration // the writes are back to back: the copy's time
		for _, d := range during {
			copying += d
		}
		took = append(took, copying)
	}
	b.ReportMetric(quantile(took, 0.5).Seconds(), "copy-s")
	b.ReportMetric(float64(quantile(before50, 0.5).Microseconds()), "before-p50-µs")
	b.ReportMetric(float64(quantile(before99, 0.5).Microseconds()), "before-p99-µs")
	b.ReportMetric(float64(quantile(during50, 0.5).Microseconds()), "during-p50-µs")
	b.ReportMetric(float64(quantile(during99, 0.5).Microseconds()), "during-p99-µs")
}

// writesAroundACopy runs one pass of BenchmarkWritesDuringACopy on a mesh
// of its own, and returns the latencies of the writes before the copy
// and during it.
func writesAroundACopy(b *testing.B) (before, during []time.Duration) {
	const events = 50_000
	p := natsmesh.Prefix(b, &shared)
	o := natsstore.Options{URL: shared.Get(b).URL(), Prefix: p, Store: store.Options{Dir: b.TempDir()}}
	natsstore.SnapshotEvery(&o, events)
	rec := &logRecorder{}
	ctx := context.Background()
	a, err := natsstore.Open(ctx, o, slog.New(rec))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	fillLog(b, p, events-1001)
	for i := 0; ; i++ {
		start := time.Now()
		if _, err := a.Append(ctx, []store.Draft{{ID: fmt.Sprintf("w%d", i), From: "alice", To: "bob", Content: "meanwhile"}}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		switch {
		case i == 0:
			// The view applied the log filled behind it first.
		case i < 1000:
			before = append(before, took)
		case rec.count(slog.LevelInfo, "copied the view into the cluster") == 0:
			during = append(during, took)
		default:
			return before, during
		}
	}
}

// quantile is the q quantile of d, 0 for none.
func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*q)]
}
