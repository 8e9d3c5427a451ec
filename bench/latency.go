package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// figE: check (the unread page), a history page and searches with many
// messages stored, nearly all of them read.
func (r *runner) figE(ctx context.Context, res *results) error {
	m, err := r.newMesh("e")
	if err != nil {
		return err
	}
	defer m.close()
	start := time.Now()
	st, err := m.openStore(ctx)
	if err != nil {
		return err
	}
	seqs, err := populate(ctx, st, r.sz.stored, r.sz.unread)
	if err != nil {
		return err
	}
	r.logf("(e) stored and indexed %d messages (%d unread) in %.1f s", r.sz.stored, r.sz.unread, time.Since(start).Seconds())
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	reader, err := m.join(ctx, "reader", nil)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for rep := range r.opts.Reps {
		var checks, pages, rare, mixed []float64
		for range r.sz.lookups {
			t := time.Now()
			c, err := reader.Check(ctx, 100, 0)
			if err != nil {
				return err
			}
			checks = append(checks, ms(time.Since(t)))
			if len(c.Messages) != r.sz.unread {
				return fmt.Errorf("check returned %d messages, want the %d unread", len(c.Messages), r.sz.unread)
			}

			// A page of the conversation somewhere in its past.
			before := seqs[20+rnd.IntN(len(seqs)-20)]
			t = time.Now()
			h, err := reader.History(ctx, ipc.HistoryRequest{With: "writer", Before: before, Limit: 20})
			if err != nil {
				return err
			}
			pages = append(pages, ms(time.Since(t)))
			if len(h.Messages) != 20 || h.Messages[0].Seq >= before {
				return fmt.Errorf("history before %d returned %d messages starting at %d", before, len(h.Messages), h.Messages[0].Seq)
			}

			// Every message holds its own number and the common filler.
			n := rnd.IntN(r.sz.stored)
			t = time.Now()
			found, err := reader.Search(ctx, ipc.SearchRequest{Query: "n" + strconv.Itoa(n)})
			if err != nil {
				return err
			}
			rare = append(rare, ms(time.Since(t)))
			if len(found.Messages) != 1 {
				return fmt.Errorf("search for message %d found %d messages, want 1", n, len(found.Messages))
			}
			t = time.Now()
			found, err = reader.Search(ctx, ipc.SearchRequest{Query: fillerWord + " n" + strconv.Itoa(n)})
			if err != nil {
				return err
			}
			mixed = append(mixed, ms(time.Since(t)))
			if len(found.Messages) != 1 {
				return fmt.Errorf("search for %q and message %d found %d messages, want 1", fillerWord, n, len(found.Messages))
			}
		}
		res.add("e.check", percentile(checks, 50))
		res.add("e.check99", percentile(checks, 99))
		res.add("e.history", percentile(pages, 50))
		res.add("e.history99", percentile(pages, 99))
		res.add("e.search", percentile(rare, 50))
		res.add("e.search99", percentile(rare, 99))
		res.add("e.searchc", percentile(mixed, 50))
		r.logf("(e) repetition %d/%d: check p50 %.3f ms, history p50 %.3f ms, search p50 %.3f ms", rep+1, r.opts.Reps, percentile(checks, 50), percentile(pages, 50), percentile(rare, 50))
	}
	res.note("e.check", "%d stored for one reader, %d of them unread; %d checks per repetition (limit 100, no wait, not acked, so each returns the %d) from a peer in the bench process to the broker child; the store was filled directly (store.Append and store.Ack in batches of 1000, then indexed) before the broker started",
		r.sz.stored, r.sz.unread, r.sz.lookups, r.sz.unread)
	res.note("e.history", "a page of 20 of the reader's conversation with the writer, before a random seq; %d per repetition", r.sz.lookups)
	res.note("e.search", "the word that only one message holds (its number), among %d messages that all hold the filler words; %d per repetition", r.sz.stored, r.sz.lookups)
	res.note("e.searchc", "the same number and %q, which every message holds", fillerWord)
	return nil
}

// populate fills a store with n messages from "writer" to "reader", all
// but unread of them read, waits until they are indexed, and returns their
// seqs in order. Message i holds the word "n<i>" and the filler. The
// reader's instance is created with an expired session, so that the reader
// can register as usual. It closes st.
func populate(ctx context.Context, st seeder, n, unread int) ([]uint64, error) {
	defer st.Close()
	if err := st.PutSession(ctx, store.Session{Name: "reader", ID: ipc.NewID(), Expires: time.Now().Add(-time.Hour)}); err != nil {
		return nil, err
	}
	const batch = 1000
	var seqs []uint64
	for start := 0; start < n; start += batch {
		drafts := make([]store.Draft, 0, batch)
		var acks []string
		for i := start; i < min(start+batch, n); i++ {
			id := ipc.NewID()
			drafts = append(drafts, store.Draft{ID: id, From: "writer", To: "reader", Content: content("n" + strconv.Itoa(i))})
			if i < n-unread {
				acks = append(acks, id)
			}
		}
		ds, err := st.Append(ctx, drafts)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Err != nil {
				return nil, d.Err
			}
			seqs = append(seqs, d.Message.Seq)
		}
		if _, err := st.Ack(ctx, "reader", acks); err != nil {
			return nil, err
		}
	}
	if err := st.WaitIndexed(ctx); err != nil {
		return nil, err
	}
	return seqs, st.Close()
}
