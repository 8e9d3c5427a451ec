package ipc_test

import (
	"fmt"
	"strings"
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
