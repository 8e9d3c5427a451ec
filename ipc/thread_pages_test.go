package ipc_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// A thread of any length is read in pages that fit a frame: by count, and
// by the size of their texts, each page saying whether more follow and
// the next read on after its last message. Without pages, anyone who may
// reply to a post could make its thread an answer too large for any
// client, and the reader's connection was cut with it.
func TestThreadReadInPages(t *testing.T) { forEachStore(t, testThreadReadInPages) }

func testThreadReadInPages(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, func(o *meshOptions) {
		o.Store.LargeMessageBytes = 256 << 10 // texts this large stay inline
	})
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	root := alice.send(t, "bob", "thread root").Message
	var want []string
	want = append(want, "thread root")
	big := strings.Repeat("x", 200<<10)
	for i := range store.MaxHistoryLimit + 10 {
		text := fmt.Sprintf("reply %d", i)
		if i < 8 {
			text += " " + big // the first page ends by size, not count
		}
		bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: text, ReplyTo: root.ID}})
		want = append(want, text)
	}

	var got []string
	var after uint64
	pages := 0
	for {
		h := alice.history(t, ipc.HistoryRequest{Thread: root.ID, After: after})
		pages++
		if len(h.Messages) == 0 {
			t.Fatalf("page %d after seq %d is empty (more %v)", pages, after, h.More)
		}
		size := 0
		for _, msg := range h.Messages {
			got = append(got, msg.Content)
			size += len(msg.Content)
			after = msg.Seq
		}
		if len(h.Messages) > store.MaxHistoryLimit || size > 2<<20 {
			t.Errorf("page %d holds %d messages, %d bytes of text", pages, len(h.Messages), size)
		}
		if !h.More {
			break
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the pages hold %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("message %d of the pages is %.20q, want %.20q", i, got[i], want[i])
		}
	}
	if pages < 3 {
		t.Errorf("%d pages, want a page cut by size and one by count", pages)
	}

	// wait_reply gives the replies stored already a page at a time too.
	var res ipc.WaitReplyResult
	n, last := 0, root.Seq
	for n < len(want)-1 {
		alice.must(t, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: root.ID, After: last}, &res)
		if len(res.Messages) == 0 || res.Last <= last {
			t.Fatalf("wait_reply after %d: %d messages, last %d", last, len(res.Messages), res.Last)
		}
		n += len(res.Messages)
		last = res.Last
	}
	if n != len(want)-1 {
		t.Errorf("wait_reply's pages hold %d replies, want %d", n, len(want)-1)
	}
	alice.refused(t, ipcmesh.CodeBadRequest, ipc.OpHistory, ipc.HistoryRequest{With: "bob", After: 3})
}

// countingStore is a real store that counts the messages the broker reads
// from threads, so that a test can hold a page to what it costs.
type countingStore struct {
	ipc.Store
	read atomic.Int64
}

func (s *countingStore) Thread(id string, after uint64, limit int) ([]ipcmesh.Message, error) {
	msgs, err := s.Store.Thread(id, after, limit)
	s.read.Add(int64(len(msgs)))
	return msgs, err
}

func (s *countingStore) ThreadAfter(thread string, after uint64, limit int) ([]ipcmesh.Message, error) {
	msgs, err := s.Store.ThreadAfter(thread, after, limit)
	s.read.Add(int64(len(msgs)))
	return msgs, err
}

// A long thread read page by page gives every message the reader may read
// once, in order, with more false exactly on the last page, and costs the
// thread about once: each page reads on from where the last one ended, as
// far as it needs, instead of reading the whole thread and cutting a page
// out of it. Direct replies between others are mixed in, some in runs
// longer than a page, and the thread ends with them, so the pages must
// read past what they drop to fill up and to know that nothing follows.
func TestLongThreadPagesReadOnce(t *testing.T) {
	counted := &countingStore{}
	m := startMeshOn(t, storeKind{"bbolt", func(_ testing.TB, o store.Options) (ipc.Store, error) {
		s, err := store.Open(o)
		if err != nil {
			return nil, err
		}
		counted.Store = s
		return counted, nil
	}}, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	alice.createChannel(t, ipc.ChannelCreateRequest{Name: "dev"})

	const limit, pages = 20, 6
	root := alice.send(t, "#dev", "the thread").Message
	want := []string{root.Content}
	total := 1
	hidden := func(n int) ipcmesh.Message {
		var last ipcmesh.Message
		for range n {
			last = bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "between bob and alice", ReplyTo: root.ID}}).Message
			total++
		}
		return last
	}
	for i := 1; len(want) < limit*pages; i++ {
		text := fmt.Sprintf("reply %d", i)
		out := ipc.Outgoing{To: "#dev", Content: text, ReplyTo: root.ID}
		from := bob
		if i%2 == 0 {
			out.To, from = "carol", alice // a direct reply, to the reader
		}
		from.sendMsg(t, ipc.SendRequest{Outgoing: out})
		want = append(want, text)
		total++
		switch {
		case i == 50:
			hidden(limit + 10)
		case i%3 == 0:
			hidden(1)
		}
	}
	newest := hidden(limit + 5)

	var got []string
	after := uint64(0)
	before := counted.read.Load()
	for page := 1; ; page++ {
		h := carol.history(t, ipc.HistoryRequest{Thread: root.ID, After: after, Limit: limit})
		if len(h.Messages) != limit {
			t.Fatalf("page %d holds %d messages, want %d", page, len(h.Messages), limit)
		}
		for _, msg := range h.Messages {
			got = append(got, msg.Content)
			after = msg.Seq
		}
		if h.More != (page < pages) {
			t.Fatalf("page %d of %d says more %v", page, pages, h.More)
		}
		if !h.More {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the pages hold %d messages:\n%v\nwant %d:\n%v", len(got), got, len(want), want)
	}
	// A page reads on from the last one's end, and reads at most one
	// chunk of a page and one past what it returns.
	if read, most := counted.read.Load()-before, int64(total+pages*(limit+1)); read > most {
		t.Errorf("%d pages of a thread of %d messages read %d of them, want at most %d", pages, total, read, most)
	}

	// Waiting for what is new seeks the thread's end instead of reading it.
	before = counted.read.Load()
	var res ipc.WaitReplyResult
	carol.must(t, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: root.ID}, &res)
	if len(res.Messages) != 0 || res.Last != newest.Seq {
		t.Errorf("wait_reply for new replies: %d messages, last %d; want none, last %d", len(res.Messages), res.Last, newest.Seq)
	}
	if read := counted.read.Load() - before; read != 0 {
		t.Errorf("wait_reply for new replies read %d messages of the thread, want none", read)
	}
}
