package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The REST face's hot paths, face and broker in one process: what a send
// and a round trip cost beyond the commit. Profile with
// go test -run xxx -bench REST -cpuprofile cpu.pprof ./gateway/.

// benchFace is a face whose per-key rate limit does not decide the
// figures.
func benchFace(b *testing.B) *face {
	return newFace(b, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
}

// restClient sends requests with one key over kept-alive connections.
type restClient struct {
	url, key string
	hc       *http.Client
}

func (f *face) client(key string) *restClient {
	return &restClient{url: f.url, key: key, hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// call sends one request and decodes a 2xx answer into out.
func (c *restClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, c.url+path, rd)
	if err != nil {
		return err
	}
	hr.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(hr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(b, out)
}

func sendBody(to, content string) []byte {
	b, _ := json.Marshal(map[string]string{"to": to, "content": content})
	return b
}

// BenchmarkRESTSend is figure (a) over REST: one sender, each send acked
// after its commit, to a recipient that is online.
func BenchmarkRESTSend(b *testing.B) {
	f := benchFace(b)
	c := f.client(f.key("alice"))
	f.peer("bob")
	ctx := context.Background()
	body := sendBody("bob", strings.Repeat("x", 100))
	if err := c.call(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := c.call(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRESTSend8 is figure (b) over REST with one send in flight per
// sender: 8 names send at once.
func BenchmarkRESTSend8(b *testing.B) {
	f := benchFace(b)
	const senders = 8
	clients := make([]*restClient, senders)
	for i := range clients {
		clients[i] = f.client(f.key(fmt.Sprintf("s%d", i)))
	}
	f.peer("bob")
	ctx := context.Background()
	body := sendBody("bob", strings.Repeat("x", 100))
	for _, c := range clients {
		if err := c.call(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := b.N/senders + 1
	for _, c := range clients {
		wg.Go(func() {
			for range per {
				if err := c.call(ctx, "POST", "/api/v1/messages", body, nil); err != nil {
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
	for _, c := range []*restClient{a, p} {
		if err := c.call(ctx, "POST", "/api/v1/register", nil, nil); err != nil {
			b.Fatal(err)
		}
	}
	stopped := make(chan error, 2)
	go func() {
		stopped <- read(ctx, p, func(m string) error { return p.call(ctx, "POST", "/api/v1/messages", sendBody("ping", m), nil) })
	}()
	answers := make(chan string, 16)
	go func() {
		stopped <- read(ctx, a, func(m string) error { answers <- m; return nil })
	}()
	ping := func(content string) {
		if err := a.call(ctx, "POST", "/api/v1/messages", sendBody("pong", content), nil); err != nil {
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

// checked is the JSON of GET /api/v1/messages.
type checked struct {
	Messages []struct {
		ID, From, Content string
	} `json:"messages"`
}

// read hands the content of every message c receives to fn, then acks
// them, until ctx ends.
func read(ctx context.Context, c *restClient, fn func(content string) error) error {
	for ctx.Err() == nil {
		var r checked
		if err := c.call(ctx, "GET", "/api/v1/messages?wait=30s", nil, &r); err != nil {
			return err
		}
		ids := make([]string, len(r.Messages))
		for i, m := range r.Messages {
			ids[i] = m.ID
			if err := fn(m.Content); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			ack, _ := json.Marshal(map[string][]string{"ids": ids})
			if err := c.call(ctx, "POST", "/api/v1/messages/ack", ack, nil); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}
