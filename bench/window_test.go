package bench

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// sendRound keeps its window of sends in flight on one peer, and every
// send of the round is stored: the recipient finds all of them.
func TestSendRoundKeepsTheWindowFull(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := election.Config{Addr: testbin.FreeAddr(t), DataDir: t.TempDir(), Keys: testbin.RandomKeys(t)}
	join := func(name string) *election.Peer {
		p, err := election.Join(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		if _, err := p.Register(ctx, name); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sink, sender := join("sink"), join("sender")

	const n, window = 200, 8
	acked, peak, firstErr := sendRound(ctx, sender, "sink", "w", n, window)
	if firstErr != "" || acked != n {
		t.Fatalf("acked %d of %d, error %q", acked, n, firstErr)
	}
	if peak < 2 || peak > window {
		t.Errorf("at most %d sends were in flight, want 2 to %d", peak, window)
	}
	got := map[string]bool{}
	for len(got) < n {
		r, err := sink.Check(ctx, 1000, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Messages) == 0 {
			t.Fatalf("the sink has %d of the %d messages and no more arrive", len(got), n)
		}
		ids := make([]string, 0, len(r.Messages))
		for _, m := range r.Messages {
			got[keyOf(m.Content)] = true
			ids = append(ids, m.ID)
		}
		if _, err := sink.Ack(ctx, ids); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != n {
		t.Errorf("the sink got %d distinct messages, want %d", len(got), n)
	}
}
