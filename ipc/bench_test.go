package ipc_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
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
