package ipc_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// BenchmarkFrameCodec encodes and decodes one send request carrying a
// 200-byte message.
func BenchmarkFrameCodec(b *testing.B) {
	body, _ := json.Marshal(ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reviewer", Content: strings.Repeat("review my patch, please. ", 8)}})
	f := &ipc.Frame{ID: 12345, Op: ipc.OpSend, Body: body}
	buf, _ := ipc.AppendFrame(nil, f)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	rd := bytes.NewReader(nil)
	br := bufio.NewReader(rd)
	for b.Loop() {
		var err error
		buf, err = ipc.AppendFrame(buf[:0], f)
		if err != nil {
			b.Fatal(err)
		}
		rd.Reset(buf)
		br.Reset(rd)
		got, err := ipc.ReadFrame(br, ipc.DefaultMaxFrame)
		if err != nil || got.ID != f.ID {
			b.Fatalf("ReadFrame = %+v, %v", got, err)
		}
	}
}

// BenchmarkSendDeliver measures a send from its request to its reception
// by a subscribed recipient: each send is acknowledged only once it is on
// disk (fsync), and the benchmark ends when the recipient has every one.
func BenchmarkSendDeliver(b *testing.B) {
	for _, senders := range []int{1, 8} {
		b.Run(fmt.Sprintf("senders=%d", senders), func(b *testing.B) {
			benchSendDeliver(b, senders)
		})
	}
}

func benchSendDeliver(b *testing.B, senders int) {
	m := startMesh(b, func(o *meshOptions) { o.Config.Limits.OpsPerSecond = 1e9 })
	var (
		received atomic.Int64
		target   = int64(b.N)
		all      = make(chan struct{})
	)
	recipient, err := m.tryDial(m.Keys, ipc.DialOptions{OnEvent: func(ev ipc.Event) {
		if ev.Name == ipc.EventMessage && received.Add(1) == target {
			close(all)
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { recipient.Close() })
	recipient.register(b, ipc.RegisterRequest{Name: "recipient", Subscribe: true})
	clients := make([]*peer, senders)
	for i := range clients {
		clients[i] = m.join(b, fmt.Sprintf("sender%d", i))
	}
	content := strings.Repeat("x", 200)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for next.Add(1) <= target {
				var res ipc.SendResult
				if err := c.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "recipient", Content: content}}, &res); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(callTimeout):
		b.Fatalf("the recipient got %d of %d messages", received.Load(), target)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkThreadPage reads a page of 20 from the middle of a thread of
// 100 and of 10,000 replies, through the broker: a page must cost the same
// however long its thread is. /wait is a wait_reply for new replies (none
// come), which must find the thread's end without reading the thread.
func BenchmarkThreadPage(b *testing.B) {
	for _, replies := range []int{100, 10_000} {
		m := startMesh(b, func(o *meshOptions) { o.Config.Limits.OpsPerSecond = 1e9 })
		alice := m.join(b, "alice")
		m.join(b, "bob")
		root, middle := fillThread(b, m.Store, replies)
		b.Run(fmt.Sprintf("replies=%d/page", replies), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var res ipc.HistoryResult
				if err := alice.call(ipc.OpHistory, ipc.HistoryRequest{Thread: root, After: middle, Limit: 20}, &res); err != nil || len(res.Messages) != 20 || !res.More {
					b.Fatalf("history: %d messages, more %v, %v", len(res.Messages), res.More, err)
				}
			}
		})
		b.Run(fmt.Sprintf("replies=%d/wait", replies), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var res ipc.WaitReplyResult
				if err := alice.call(ipc.OpWaitReply, ipc.WaitReplyRequest{ID: root}, &res); err != nil || len(res.Messages) != 0 {
					b.Fatalf("wait_reply: %d messages, %v", len(res.Messages), err)
				}
			}
		})
	}
}

// fillThread stores a direct message from alice to bob and n replies from
// bob, in commits of up to 1000, and returns the first message's id and
// the seq of the reply in the middle.
func fillThread(tb testing.TB, st ipc.Store, n int) (string, uint64) {
	tb.Helper()
	ctx := context.Background()
	root := ipc.NewID()
	if _, err := st.AppendEarly(ctx, []store.Draft{{ID: root, From: "alice", To: "bob", Content: "review my patch, please"}}, nil); err != nil {
		tb.Fatal(err)
	}
	var middle uint64
	for start := 0; start < n; start += 1000 {
		drafts := make([]store.Draft, min(1000, n-start))
		for i := range drafts {
			drafts[i] = store.Draft{ID: ipc.NewID(), From: "bob", To: "alice", ReplyTo: root, Content: fmt.Sprintf("a reply of an ordinary length, a sentence or two long: point %d", start+i)}
		}
		ds, err := st.AppendEarly(ctx, drafts, nil)
		if err != nil {
			tb.Fatal(err)
		}
		for i, d := range ds {
			if d.Err != nil {
				tb.Fatal(d.Err)
			}
			if start+i == n/2 {
				middle = d.Message.Seq
			}
		}
	}
	// The steady state: the background indexer is not still at work.
	if ix, ok := st.(interface{ WaitIndexed(context.Context) error }); ok {
		if err := ix.WaitIndexed(ctx); err != nil {
			tb.Fatal(err)
		}
	}
	return root, middle
}
