package ipc_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// wholeText holds characters of 1, 2, 3 and 4 bytes, which start at 0, 1,
// 3 and 6 of each repeat: a part must start and end between them.
var wholeText = strings.Repeat("aé€😀", 5000)

// TestFetchAPartOfABody: a reader that pages a large body asks for a part
// at a time, and the broker answers that part alone, not the whole body
// for every page: read in parts of 1,000 bytes, 50 KB of text take answers
// of about 1 KB each.
func TestFetchAPartOfABody(t *testing.T) { forEachStore(t, testFetchAPartOfABody) }

func testFetchAPartOfABody(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice, bob := m.join(t, "alice"), m.join(t, "bob")
	large := alice.send(t, "bob", wholeText).Message
	short := alice.send(t, "bob", "hé!").Message
	if !large.Large || short.Large {
		t.Fatalf("large %v, short %v: want a large message and one that is not", large.Large, short.Large)
	}

	fetch := func(id string, part ipc.Part) (r ipc.FetchResult) {
		bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: id, Part: part}, &r)
		return r
	}
	r := fetch(large.ID, ipc.Part{Offset: 2, Limit: 5})
	if r.Content != "é€" || r.Offset != 1 || r.Message.Size != len(wholeText) || r.Message.Content == r.Content {
		t.Errorf("bytes 2 to 7 of the large body: content %.20q at %d, size %d, the message's content %.20q; want %q at 1 (moved back to its character's start, ended before the one past the limit), size %d, its summary",
			r.Content, r.Offset, r.Message.Size, r.Message.Content, "é€", len(wholeText))
	}
	var b strings.Builder
	for offset := 0; offset < len(wholeText); {
		var raw json.RawMessage
		bob.must(t, ipc.OpFetch, ipc.FetchRequest{ID: large.ID, Part: ipc.Part{Offset: offset, Limit: 1000}}, &raw)
		var r ipc.FetchResult
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		// The message's summary, the part and the fields.
		if most := len(r.Message.Content) + 1000 + 500; len(raw) > most {
			t.Fatalf("the answer for 1,000 bytes at %d is %d bytes, over %d", offset, len(raw), most)
		}
		if r.Offset != offset || r.Content == "" {
			t.Fatalf("the part at %d starts at %d with %d bytes", offset, r.Offset, len(r.Content))
		}
		b.WriteString(r.Content)
		offset += len(r.Content)
	}
	if b.String() != wholeText {
		t.Error("the parts do not make the body")
	}
	r = fetch(large.ID, ipc.Part{Offset: len(wholeText) + 10})
	if r.Content != "" || r.Offset != len(wholeText) {
		t.Errorf("past the end: %.20q at %d, want nothing at the end, %d", r.Content, r.Offset, len(wholeText))
	}
	// A message that is not large is its own body: its content is the
	// part too.
	r = fetch(short.ID, ipc.Part{Offset: 2, Limit: 1})
	if r.Content != "" || r.Message.Content != "" || r.Offset != 1 {
		t.Errorf("1 byte at 2 of %q: %q, the message's %q, at %d; want nothing at 1 (é takes 2)", "hé!", r.Content, r.Message.Content, r.Offset)
	}
	r = fetch(short.ID, ipc.Part{Offset: 1})
	if r.Content != "é!" || r.Message.Content != "é!" || r.Message.Size != len("hé!") {
		t.Errorf("the rest from 1 of %q: %q, the message's %q, size %d", "hé!", r.Content, r.Message.Content, r.Message.Size)
	}
	r = fetch(large.ID, ipc.Part{})
	if r.Content != wholeText || r.Offset != 0 {
		t.Errorf("no part asked: %d bytes at %d, want the whole body", len(r.Content), r.Offset)
	}
}

// TestGetAPartOfASharedValue: get_shared answers a part of a value as
// fetch does of a body.
func TestGetAPartOfASharedValue(t *testing.T) { forEachStore(t, testGetAPartOfASharedValue) }

func testGetAPartOfASharedValue(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice, bob := m.join(t, "alice"), m.join(t, "bob")
	alice.must(t, ipc.OpShare, ipc.ShareRequest{Key: "spec", Content: wholeText}, nil)
	var raw json.RawMessage
	bob.must(t, ipc.OpGetShared, ipc.GetSharedRequest{Key: "spec", Part: ipc.Part{Offset: 7, Limit: 9}}, &raw)
	if len(raw) > 1000 {
		t.Errorf("the answer for 9 bytes is %d bytes", len(raw))
	}
	var r ipc.SharedResult
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Shared.Content != "😀aé" || r.Offset != 6 || r.Shared.Size != len(wholeText) || r.Shared.StoredBy != "alice" {
		t.Errorf("9 bytes at 7: %.20q at %d, size %d, stored by %q; want %q at 6, size %d, by alice",
			r.Shared.Content, r.Offset, r.Shared.Size, r.Shared.StoredBy, "😀aé", len(wholeText))
	}
	r = ipc.SharedResult{}
	bob.must(t, ipc.OpGetShared, ipc.GetSharedRequest{Key: "spec"}, &r)
	if r.Shared.Content != wholeText || r.Offset != 0 {
		t.Errorf("no part asked: %d bytes at %d, want the whole value", len(r.Shared.Content), r.Offset)
	}
}
