package gateway

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/restclient"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// The REST face's hot paths, face and broker in one process: what a send
// and a round trip cost beyond the commit. Profile with
// go test -run xxx -bench REST -cpuprofile cpu.pprof ./gateway/.

// benchFace is a face whose rate limits, its own per key and the
// broker's per name, do not decide the figures: at the broker's default
// (500 ops/s, burst 1000) a run of more than a thousand sends measured
// the limit.
func benchFace(b *testing.B) *face {
	return newFaceLimited(b, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
}

// client is a REST client of the face with key, with connections enough
// for the benchmarks' senders.
func (f *face) client(key string) *restclient.Client {
	return restclient.New(f.url, key, 64)
}

// BenchmarkRESTSend is figure (a) over REST: one sender, each send acked
// after its commit, to a recipient that is online.
func BenchmarkRESTSend(b *testing.B) {
	f := benchFace(b)
	c := f.client(f.key("alice"))
	f.peer("bob")
	ctx := context.Background()
	body := restclient.SendBody("bob", strings.Repeat("x", 100))
	if err := c.Do(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.Do(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRESTSend8 is figure (b) over REST with one send in flight per
// sender: 8 names send at once.
func BenchmarkRESTSend8(b *testing.B) {
	f := benchFace(b)
	const senders = 8
	clients := make([]*restclient.Client, senders)
	for i := range clients {
		clients[i] = f.client(f.key(fmt.Sprintf("s%d", i)))
	}
	f.peer("bob")
	ctx := context.Background()
	body := restclient.SendBody("bob", strings.Repeat("x", 100))
	for _, c := range clients {
		if err := c.Do(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/senders + 1
	for _, c := range clients {
		wg.Go(func() {
			for range per {
				if err := c.Do(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkRESTRoundTrip is figure (c) over REST: A sends to B, whose
// waiting check returns the message; B sends it back, and A's waiting
// check returns the answer. Both read and ack as a client would, the acks
// beside the next round trip.
func BenchmarkRESTRoundTrip(b *testing.B) {
	f := benchFace(b)
	a, p := f.client(f.key("ping")), f.client(f.key("pong"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []*restclient.Client{a, p} {
		if err := c.Call(ctx, "POST", "/api/v1/register", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	stopped := make(chan error, 2)
	go func() {
		stopped <- read(ctx, p, func(m string) error { return p.Send(ctx, "ping", m) })
	}()
	answers := make(chan string, 16)
	go func() {
		stopped <- read(ctx, a, func(m string) error { answers <- m; return nil })
	}()
	ping := func(content string) {
		if err := a.Send(ctx, "pong", content); err != nil {
			b.Fatal(err)
		}
		for {
			select {
			case m := <-answers:
				if m == content {
					return
				}
			case err := <-stopped:
				b.Fatalf("a reader stopped: %v", err)
			}
		}
	}
	ping("warm")
	var rtts []time.Duration
	for b.Loop() {
		start := time.Now()
		ping(fmt.Sprint("p", len(rtts)))
		rtts = append(rtts, time.Since(start))
	}
	slices.Sort(rtts)
	b.ReportMetric(float64(rtts[len(rtts)/2].Microseconds())/1000, "p50-ms")
}

// read hands the content of every message c receives to fn, then acks
// them, until ctx ends.
func read(ctx context.Context, c *restclient.Client, fn func(content string) error) error {
	for ctx.Err() == nil {
		if err := c.Read(ctx, 30*time.Second, func(_, content string) error { return fn(content) }); err != nil {
			return err
		}
	}
	return ctx.Err()
}
