package natsstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// BenchmarkLargeSend measures a send whose 4 MiB body travels through the
// bodies bucket: the body is put into the object store and read back,
// the event naming it published, and the writer's view reads the body to
// apply the event before the send is answered. It reports the median
// time of a send, of its body's upload, and of the read back (from the
// upload's end to the publish of the event).
func BenchmarkLargeSend(b *testing.B) {
	var (
		mu       sync.Mutex
		asked    []time.Time // the upload's start, then each publish's
		uploaded time.Time
	)
	p := natsmesh.Prefix(b, &shared)
	o := natsstore.Options{URL: shared.Get(b).URL(), Prefix: p, Store: store.Options{Dir: b.TempDir()}}
	natsstore.OnAsking(&o, func() {
		mu.Lock()
		defer mu.Unlock()
		asked = append(asked, time.Now())
	})
	natsstore.OnUploaded(&o, func(*jetstream.ObjectInfo) {
		mu.Lock()
		defer mu.Unlock()
		uploaded = time.Now()
	})
	a, err := natsstore.Open(context.Background(), o, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	body := strings.Repeat("0123456789abcdef", 4<<20/16)
	var sends, uploads, checks []time.Duration
	for i := 0; b.Loop(); i++ {
		mu.Lock()
		asked = asked[:0]
		mu.Unlock()
		start := time.Now()
		ds, err := a.Append(context.Background(), []store.Draft{{ID: fmt.Sprintf("big-%d", i), From: "alice", To: "bob", Content: body}})
		if err == nil {
			err = ds[0].Err
		}
		if err != nil {
			b.Fatal(err)
		}
		sends = append(sends, time.Since(start))
		mu.Lock()
		if len(asked) >= 2 {
			uploads = append(uploads, uploaded.Sub(asked[0]))
			checks = append(checks, asked[1].Sub(uploaded))
		}
		mu.Unlock()
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(quantile(sends, 0.5)), "ms/send-p50")
	b.ReportMetric(ms(quantile(uploads, 0.5)), "ms/upload-p50")
	b.ReportMetric(ms(quantile(checks, 0.5)), "ms/readback-p50")
}
