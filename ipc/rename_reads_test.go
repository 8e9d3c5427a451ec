package ipc_test

import (
	"slices"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// An instance that asked for a reply and then renamed itself still reads
// its thread, waits on it, replies in it, fetches and finds the messages
// it sent and got under its old name, and its conversation holds them. A name taken by another after the
// rename gives the renamed instance nothing of the newcomer's mail, and a
// third instance reads none of it.
func TestRenamedInstanceReadsItsOwnMessages(t *testing.T) {
	forEachStore(t, testRenamedInstanceReadsItsOwnMessages)
}

func testRenamedInstanceReadsItsOwnMessages(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	ask := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "please review the parser", Type: ipcmesh.TypeRequest}}).Message
	got := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "which branch?", ReplyTo: ask.ID}}).Message
	alice.check(t) // read before the rename: it stays under the old name
	alice.must(t, ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "alicia"}, nil)

	want := []string{"please review the parser", "which branch?"}
	for _, id := range []string{ask.ID, got.ID} {
		if h := alice.history(t, ipc.HistoryRequest{Thread: id}); !slices.Equal(contents(h.Messages), want) {
			t.Errorf("alicia reads the thread from %s as %v, want %v", id, contents(h.Messages), want)
		}
		var f ipc.FetchResult
		alice.must(t, ipc.OpFetch, ipc.FetchRequest{ID: id}, &f)
		if f.Message.ID != id {
			t.Errorf("alicia fetched %s as %+v", id, f.Message)
		}
	}
	if found := alice.search(t, ipc.SearchRequest{Query: "parser"}); len(found) != 1 || found[0].ID != ask.ID {
		t.Errorf("alicia's search for parser = %v, want her request", contents(found))
	}
	if found := alice.search(t, ipc.SearchRequest{Query: "branch"}); len(found) != 1 || found[0].ID != got.ID {
		t.Errorf("alicia's search for branch = %v, want bob's question", contents(found))
	}
	answer := alice.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "bob", Content: "main", ReplyTo: got.ID}}).Message
	if answer.Thread != ask.ID {
		t.Errorf("alicia's reply has thread %q, want %q", answer.Thread, ask.ID)
	}
	conv := []string{"main", "which branch?", "please review the parser"}
	if h := alice.history(t, ipc.HistoryRequest{With: "bob"}); !slices.Equal(contents(h.Messages), conv) {
		t.Errorf("alicia's conversation with bob = %v, want %v", contents(h.Messages), conv)
	}
	if h := bob.history(t, ipc.HistoryRequest{With: "alicia"}); !slices.Equal(contents(h.Messages), conv) {
		t.Errorf("bob's conversation with alicia = %v, want %v", contents(h.Messages), conv)
	}
	h := alice.history(t, ipc.HistoryRequest{With: "bob", Limit: 2})
	if !slices.Equal(contents(h.Messages), conv[:2]) || !h.More {
		t.Fatalf("alicia's first page of 2 = %v (more %v)", contents(h.Messages), h.More)
	}
	h = alice.history(t, ipc.HistoryRequest{With: "bob", Limit: 2, Before: h.Messages[1].Seq})
	if !slices.Equal(contents(h.Messages), conv[2:]) || h.More {
		t.Errorf("alicia's second page = %v (more %v)", contents(h.Messages), h.More)
	}
	if h := carol.history(t, ipc.HistoryRequest{With: "bob"}); len(h.Messages) != 0 {
		t.Errorf("carol's conversation with bob = %v", contents(h.Messages))
	}
	var w ipc.WaitReplyResult
	alice.must(t, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: ask.ID, After: got.Seq}, &w)
	if !slices.Equal(contents(w.Messages), []string{"main"}) {
		t.Errorf("alicia's wait on the thread after bob's question = %v, want her answer", contents(w.Messages))
	}

	// carol was never alice.
	for _, id := range []string{ask.ID, got.ID} {
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: id})
		carol.refused(t, ipcmesh.CodeNotFound, ipc.OpFetch, ipc.FetchRequest{ID: id})
	}
	if found := carol.search(t, ipc.SearchRequest{Query: "parser branch"}); len(found) != 0 {
		t.Errorf("carol finds %v", contents(found))
	}

	// Another instance takes the old name back: its mail is not alicia's.
	newcomer := m.dial(t)
	newcomer.register(t, ipc.RegisterRequest{Name: "alice"})
	later := bob.sendMsg(t, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "welcome, new alice"}}).Message
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: later.ID})
	alice.refused(t, ipcmesh.CodeNotFound, ipc.OpFetch, ipc.FetchRequest{ID: later.ID})
	if found := alice.search(t, ipc.SearchRequest{Query: "welcome"}); len(found) != 0 {
		t.Errorf("alicia finds the new alice's mail: %v", contents(found))
	}
	if h := alice.history(t, ipc.HistoryRequest{Thread: ask.ID}); len(h.Messages) != 3 {
		t.Errorf("alicia's thread after the name was taken back = %v, want 3 messages", contents(h.Messages))
	}
	if h := alice.history(t, ipc.HistoryRequest{With: "bob"}); !slices.Equal(contents(h.Messages), conv) {
		t.Errorf("alicia's conversation with bob once the name was taken back = %v, want %v", contents(h.Messages), conv)
	}
}
