package natsstore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// A view that stopped applying the log (here at an op of a newer build)
// fails every write, and says so where a person looks: the broker's
// status reads Stats, which said the store was fine.
func TestStoppedViewSaysWhyInStats(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, nil)
	mustAppend(t, a, draft("m1", "alice", "bob", "before"))
	ctx := context.Background()
	publishOnce(t, sharedJetStream(t), p+".log", []byte(`{"id":"newer.1","op":"from_a_newer_build","args":{}}`))
	var err error
	eventually(t, "Stats to fail once the view stopped", func() bool {
		_, err = a.Stats()
		return err != nil
	})
	if !strings.Contains(err.Error(), `unknown op "from_a_newer_build"`) || !strings.Contains(err.Error(), "upgrade it") {
		t.Errorf("Stats of a stopped view: %v; want why it stopped and what to do", err)
	}
	if _, werr := a.Append(ctx, []store.Draft{draft("m2", "alice", "bob", "after")}); werr == nil || werr.Error() != err.Error() {
		t.Errorf("a write on the stopped view: %v; want the same error as Stats", werr)
	}
	// Reads go on from the view as it was.
	if n, err := a.UnreadCount("bob"); err != nil || n != 1 {
		t.Errorf("UnreadCount(bob) on the stopped view = %d, %v; want 1", n, err)
	}
}
