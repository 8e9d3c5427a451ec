package election

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// FuzzMessageID checks that messageID's shortcut reads the id that
// json.Unmarshal would, from any frame body the peer can be pushed: valid
// JSON (the frame's reader checks it) whose object names its id once.
// The seeds are in testdata/fuzz/FuzzMessageID.
func FuzzMessageID(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) || idKeys(body) > 1 {
			t.Skip("not a body the peer is pushed")
		}
		var m struct {
			ID string `json:"id"`
		}
		want := ""
		if json.Unmarshal(body, &m) == nil {
			want = m.ID
		}
		if got := messageID(body); got != want {
			t.Fatalf("messageID(%q) = %q, json.Unmarshal reads %q", body, got, want)
		}
	})
}

// The shortcut holds for the layout the broker writes: a message's id
// comes first. Were it moved, every push would be decoded whole again.
func TestMessageIDReadsThePushedLayout(t *testing.T) {
	body, err := json.Marshal(ipcmesh.Message{ID: "18ee286d0b8fd5bd7405f279b6982e8e", From: "alice", To: "bob", Content: strings.Repeat("x", 200)})
	if err != nil {
		t.Fatal(err)
	}
	if got := messageID(body); got != "18ee286d0b8fd5bd7405f279b6982e8e" {
		t.Fatalf("messageID = %q", got)
	}
	// One allocation, the id's string: json.Unmarshal would make more.
	if n := testing.AllocsPerRun(100, func() { messageID(body) }); n > 1 {
		t.Fatalf("messageID made %.0f allocations for a message the broker pushes: it no longer takes the shortcut (is the id still the first field of ipcmesh.Message?)", n)
	}
}

// idKeys counts the keys of body's top-level object that json.Unmarshal
// would take for the field "id".
func idKeys(body []byte) int {
	d := json.NewDecoder(bytes.NewReader(body))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return 0
	}
	n := 0
	for d.More() {
		key, err := d.Token()
		if err != nil {
			return n
		}
		if k, ok := key.(string); ok && strings.EqualFold(k, "id") {
			n++
		}
		var skip json.RawMessage
		if d.Decode(&skip) != nil {
			return n
		}
	}
	return n
}

func BenchmarkMessageID(b *testing.B) {
	body, err := json.Marshal(ipcmesh.Message{ID: "18ee286d0b8fd5bd7405f279b6982e8e", From: "alice", To: "bob", Content: strings.Repeat("x", 200)})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		messageID(body)
	}
}
