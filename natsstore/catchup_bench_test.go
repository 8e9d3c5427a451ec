package natsstore_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// BenchmarkCatchUp measures what a broker whose view lags the log pays
// on its next write: another host wrote lag events while this one's
// consumer was silent (its host asleep, its NATS server lost), and the
// write is answered once the view has applied them all. The broker
// reaches the cluster over loopback, or over a link that delays each
// byte by 5 ms each way, as a cluster on another network is. It reports
// the median time of the write per event caught up.
func BenchmarkCatchUp(b *testing.B) {
	for _, link := range []time.Duration{0, 5 * time.Millisecond} {
		for _, lag := range []int{100, 2_000} {
			b.Run(fmt.Sprintf("lag=%d/link=%v", lag, link), func(b *testing.B) {
				var per []time.Duration
				for i := 0; b.Loop(); i++ {
					p := natsmesh.Prefix(b, &shared)
					url := shared.Get(b).URL()
					if link > 0 {
						url = delayedLink(b, url, link)
					}
					o := natsstore.Options{URL: url, Prefix: p, Store: store.Options{Dir: b.TempDir()}}
					a, err := natsstore.Open(context.Background(), o, nil)
					if err != nil {
						b.Fatal(err)
					}
					a.StopFollowing()
					b.StopTimer()
					fillLog(b, p, lag)
					b.StartTimer()
					start := time.Now()
					if _, err := a.Append(context.Background(), []store.Draft{{ID: fmt.Sprintf("late-%d", i), From: "alice", To: "bob", Content: "after the lag"}}); err != nil {
						b.Fatal(err)
					}
					per = append(per, time.Since(start)/time.Duration(lag))
					b.StopTimer()
					if n, err := a.UnreadCount("bob"); err != nil || n != lag+1 {
						b.Fatalf("bob has %d unread (%v), want %d", n, err, lag+1)
					}
					a.Close()
					b.StartTimer()
				}
				b.ReportMetric(float64(quantile(per, 0.5).Microseconds()), "µs/event-p50")
			})
		}
	}
}

// delayedLink serves, on a free port of 127.0.0.1, a link to the first
// server of urls that passes every byte on oneWay after it came, in each
// direction, and returns its URL. The link ends with the benchmark.
func delayedLink(tb testing.TB, urls string, oneWay time.Duration) string {
	tb.Helper()
	first, _, _ := strings.Cut(urls, ",")
	target := strings.TrimPrefix(first, "nats://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			go delayed(u, c, oneWay)
			go delayed(c, u, oneWay)
		}
	}()
	return "nats://" + ln.Addr().String()
}

// delayed copies src to dst, each piece oneWay after it was read.
func delayed(dst, src net.Conn, oneWay time.Duration) {
	type piece struct {
		due  time.Time
		data []byte
	}
	q := make(chan piece, 4096)
	go func() {
		defer close(q)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				q <- piece{time.Now().Add(oneWay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for p := range q {
		time.Sleep(time.Until(p.due)) // the link's delay, not a wait for an event
		if _, err := dst.Write(p.data); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}
