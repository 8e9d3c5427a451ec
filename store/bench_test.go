package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
)

func BenchmarkAppend(b *testing.B) {
	s, _ := openTest(b, nil)
	register(b, s, "bob")
	ctx := context.Background()
	body := "a message of an ordinary length, a sentence or two long, as assistants send"
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ds, err := s.Append(ctx, []Draft{{ID: fmt.Sprint(i), From: "alice", To: "bob", Content: body}})
		if err != nil || ds[0].Err != nil {
			b.Fatal(err, ds[0].Err)
		}
	}
}

// BenchmarkAppendParallel models a broker with many clients sending at once:
// writers mostly wait for the disk, so there are more of them than CPUs,
// and group commit shares each fsync among them.
func BenchmarkAppendParallel(b *testing.B) {
	s, _ := openTest(b, nil)
	register(b, s, "bob")
	ctx := context.Background()
	body := "a message of an ordinary length, a sentence or two long, as assistants send"
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint(n.Add(1))
			ds, err := s.Append(ctx, []Draft{{ID: id, From: "alice", To: "bob", Content: body}})
			if err != nil || ds[0].Err != nil {
				b.Error(err, ds[0].Err)
				return
			}
		}
	})
}

// BenchmarkUnread reads an inbox of 5 unread messages beside 100,000 stored
// ones: the cost must follow the unread, not the history.
func BenchmarkUnread(b *testing.B) {
	s, _ := openTest(b, nil)
	register(b, s, "bob")
	ctx := context.Background()
	const total, batch, unread = 100_000, 1000, 5
	for start := 0; start < total; start += batch {
		drafts := make([]Draft, batch)
		acks := make([]string, 0, batch)
		for i := range drafts {
			id := fmt.Sprint(start + i)
			drafts[i] = Draft{ID: id, From: "alice", To: "bob", Content: "history message " + id}
			if start+i < total-unread {
				acks = append(acks, id)
			}
		}
		if _, err := s.Append(ctx, drafts); err != nil {
			b.Fatal(err)
		}
		if _, err := s.Ack(ctx, "bob", acks); err != nil {
			b.Fatal(err)
		}
	}
	if st, _ := s.Stats(); st.Messages != total || st.Unread != unread {
		b.Fatalf("setup: %+v", st)
	}
	// The steady state: the background indexer is not still at work.
	if err := s.WaitIndexed(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		msgs, err := s.Unread("bob", 100)
		if err != nil || len(msgs) != unread {
			b.Fatal(len(msgs), err)
		}
	}
}

// BenchmarkDrain is a recipient emptying a backlog of 8,000 messages, a
// check of 1,000 then their ack, over and over: the checks read inside
// the transaction the acks are left in, which then grows over several
// pages instead of being committed by each check.
func BenchmarkDrain(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s, _ := openTest(b, nil)
		register(b, s, "bob")
		ctx := context.Background()
		for i := range 80 {
			var ds []Draft
			for j := range 100 {
				ds = append(ds, Draft{ID: fmt.Sprint("m", i, "-", j), From: "alice", To: "bob", Content: "a message of an ordinary length, a sentence or two long"})
			}
			if _, err := s.Append(ctx, ds); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		for {
			ms, err := s.Unread("bob", 1000)
			if err != nil {
				b.Fatal(err)
			}
			if len(ms) == 0 {
				break
			}
			ids := make([]string, len(ms))
			for i, m := range ms {
				ids[i] = m.ID
			}
			if _, err := s.Ack(ctx, "bob", ids); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}
