package ipc_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A search reads on page by page with before, the last seq of the page
// before, on every store: each match comes once, newest first, more says
// until the last page that older ones match, and a message sent between
// two pages, newer than the first, does not come in a later one. Without
// before a reader could not get past the newest 100 matches, nor past a
// page it had to cut short.
func TestSearchPagesBackWithBefore(t *testing.T) { forEachStore(t, testSearchPagesBackWithBefore) }

func testSearchPagesBackWithBefore(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	alice := m.join(t, "alice")
	bob := m.join(t, "bob")
	carol := m.join(t, "carol")
	const total = 11
	var want []string
	for i := range total {
		want = append(want, alice.send(t, "bob", "zebra "+strconv.Itoa(i)).Message.ID)
		alice.send(t, "carol", "zebra, not for bob")
		if i == 5 {
			// The older half indexed, the newer half the unindexed tail.
			if err := m.Store.(interface{ WaitIndexed(context.Context) error }).WaitIndexed(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Reverse(want)
	req := ipc.SearchRequest{Query: "zebra", Limit: 3}
	var seen []string
	for pages := 0; ; pages++ {
		if pages > total {
			t.Fatalf("%d pages read: %v", pages, seen)
		}
		var r ipc.SearchResult
		bob.must(t, ipc.OpSearch, req, &r)
		for _, msg := range r.Messages {
			seen = append(seen, msg.ID)
		}
		if len(r.Messages) == 0 || r.More != (len(seen) < total) {
			t.Fatalf("page %d: %d matches, more %v, after %d of %d", pages, len(r.Messages), r.More, len(seen), total)
		}
		if pages == 0 {
			carol.send(t, "bob", "a zebra sent while bob pages")
		}
		if !r.More {
			break
		}
		req.Before = r.Messages[len(r.Messages)-1].Seq
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("bob read %v; want each match once, newest first: %v", seen, want)
	}
}
