package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	// indexBatch bounds the messages indexed in one write transaction, and
	// indexPostings the word entries, so one indexing commit holds the
	// writers queued behind it for tens of milliseconds at most. Larger
	// rounds are cheaper per message (most of a round's cost is writing the
	// leaves it touched), smaller ones stall senders less.
	indexBatch    = 2000
	indexPostings = 40000
	// The indexer works in the writer's idle time: after a commit wakes
	// it, it waits until no message has been sent for indexQuiet, or until
	// the backlog has waited indexMaxWait, whichever comes first.
	indexQuiet   = 20 * time.Millisecond
	indexMaxWait = 2 * time.Second
	// indexYield paces rounds while messages are being sent: after a round
	// that took d during which senders came, the indexer rests indexYield*d,
	// so under a sustained flood it takes at most a tenth of the writer's
	// time; the unindexed tail then grows, and searches scan it within their
	// budget. With no sends it catches up at full speed.
	indexYield = 9
	// indexRetry is the pause after a failed round.
	indexRetry = time.Second
)

// indexer maintains the words index in the background: sends never pay for
// it. (It also fills the conversation index for messages stored by an
// older ipcmesh; see metaBackfill.) It reads committed messages past the watermark (meta "indexed"),
// tokenises them outside any write transaction, then writes their postings
// and the new watermark through the committer, skipping any message that
// was deleted in between, so the index never names a missing message.
type indexer struct {
	s      *Store
	kick   chan struct{} // a commit added messages
	urgent chan struct{} // WaitIndexed wants the backlog indexed now
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	wm      uint64        // the watermark as last committed
	changed chan struct{} // closed and replaced whenever wm or err changes
	err     error         // the last round's fault, until a round succeeds
	rounds  uint64        // rounds begun
	errOf   uint64        // the round err is from
}

func newIndexer(s *Store, wm uint64) *indexer {
	ctx, cancel := context.WithCancel(context.Background())
	ix := &indexer{
		s:       s,
		kick:    make(chan struct{}, 1),
		urgent:  make(chan struct{}, 1),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		wm:      wm,
		changed: make(chan struct{}),
	}
	go ix.run()
	return ix
}

// wake tells the indexer that messages were committed. It never blocks.
func (ix *indexer) wake() {
	select {
	case ix.kick <- struct{}{}:
	default:
	}
}

func (ix *indexer) hurry() {
	select {
	case ix.urgent <- struct{}{}:
	default:
	}
}

// close stops the indexer, letting a round already submitted finish. It
// must run before the committer closes.
func (ix *indexer) close() {
	ix.cancel()
	<-ix.done
}

func (ix *indexer) run() {
	defer close(ix.done)
	for {
		// Catch up, yielding to senders between rounds.
		for {
			sent := ix.s.sent.Load()
			start := time.Now()
			n := ix.begin()
			caughtUp, err := ix.round()
			took := time.Since(start)
			ix.publish(n, err)
			if ix.ctx.Err() != nil {
				return
			}
			if err != nil {
				if !ix.pause(indexRetry) {
					return
				}
				continue
			}
			if caughtUp {
				break
			}
			if ix.s.sent.Load() != sent && !ix.pause(indexYield*took) {
				return
			}
		}
		select {
		case <-ix.ctx.Done():
			return
		case <-ix.urgent:
		case <-ix.kick:
			if !ix.settle() {
				return
			}
		}
	}
}

// settle waits for a lull in the sends, at most indexMaxWait; false means
// stop.
func (ix *indexer) settle() bool {
	deadline := time.Now().Add(indexMaxWait)
	t := time.NewTimer(indexQuiet)
	defer t.Stop()
	for {
		sent := ix.s.sent.Load()
		select {
		case <-ix.ctx.Done():
			return false
		case <-ix.urgent:
			return true
		case <-t.C:
		}
		left := time.Until(deadline)
		if ix.s.sent.Load() == sent || left <= 0 {
			// Kicks so far are covered by the coming round.
			select {
			case <-ix.kick:
			default:
			}
			return true
		}
		t.Reset(min(indexQuiet, left))
	}
}

// pause waits d, or less if WaitIndexed asks; false means stop.
func (ix *indexer) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ix.ctx.Done():
		return false
	case <-ix.urgent:
	case <-t.C:
	}
	return true
}

// begin counts a round begun and returns its number.
func (ix *indexer) begin() uint64 {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.rounds++
	return ix.rounds
}

// publish records how round n ended.
func (ix *indexer) publish(n uint64, err error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) {
		err = nil
	}
	ix.err, ix.errOf = err, n
	close(ix.changed)
	ix.changed = make(chan struct{})
}

type pending struct {
	seq   uint64
	words []string
}

// round indexes one batch past the watermark and reports whether it
// reached the newest message.
func (ix *indexer) round() (bool, error) {
	var (
		wm, through uint64
		batch       []pending
		caughtUp    bool
		keyBytes    int
	)
	err := ix.s.view(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		wm = watermark(t.meta())
		last := t.messages().Sequence()
		if wm >= last {
			caughtUp = true
			return nil
		}
		postings := 0
		c := t.messages().Cursor()
		k, v := c.Seek(seqKey(wm + 1))
		for ; k != nil && len(batch) < indexBatch && postings < indexPostings; k, v = c.Next() {
			rec, err := unmarshalRecord(v)
			if err != nil {
				return fmt.Errorf("message %x: %w", k, err)
			}
			words := tokens(rec.Content)
			batch = append(batch, pending{seq: seqOf(k), words: words})
			postings += len(words)
			for _, w := range words {
				keyBytes += len(w) + 9
			}
			through = seqOf(k)
		}
		if k == nil {
			// Every seq up to last is committed (seqs are handed out in
			// write transactions), so the ones not seen were deleted.
			through, caughtUp = last, true
		}
		return nil
	})
	if err != nil || through == 0 {
		return caughtUp, wrapFault("index messages", err)
	}
	err = ix.s.c.submit(ix.ctx, func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		if watermark(t.meta()) != wm {
			return nil // someone else moved it: the next round starts over
		}
		words := t.words()
		words.FillPercent = 0.9 // postings are mostly added at a list's end
		backfill := seqOf(t.meta().Get([]byte(metaBackfill)))
		// bbolt keeps the keys it is given until the commit: carve them all
		// from one slab instead of allocating each.
		slab := make([]byte, 0, keyBytes)
		keys := make([][]byte, 0, keyBytes/12)
		msgs := seeker{c: t.messages().Cursor()}
		for _, p := range batch {
			key := seqKey(p.seq)
			v := msgs.get(key)
			if v == nil {
				continue // swept since it was read
			}
			for _, w := range p.words {
				start := len(slab)
				slab = append(slab, w...)
				slab = append(slab, 0)
				slab = binary.BigEndian.AppendUint64(slab, p.seq)
				keys = append(keys, slab[start:len(slab):len(slab)])
			}
			if p.seq <= backfill {
				// Read here, not with the words: a rename may have
				// changed the recipient since.
				h, ok := peekRecord(v)
				if !ok {
					return fmt.Errorf("message %x: %w", key, errBadRecord)
				}
				if len(h.channel) == 0 {
					if err := t.conversations().Put(withSeq(convPrefix(string(h.from), string(h.to)), p.seq), nil); err != nil {
						return err
					}
				}
			}
		}
		// In key order each leaf is loaded once and filled front to back.
		slices.SortFunc(keys, bytes.Compare)
		for _, k := range keys {
			if err := words.Put(k, nil); err != nil {
				return err
			}
		}
		if backfill != 0 && through >= backfill {
			if err := t.meta().Delete([]byte(metaBackfill)); err != nil {
				return err
			}
		}
		return t.meta().Put([]byte(metaIndexed), seqKey(through))
	})
	if err != nil {
		return false, wrapFault("index messages", err)
	}
	ix.mu.Lock()
	ix.wm = through
	ix.mu.Unlock()
	return caughtUp, nil
}

func watermark(meta *bolt.Bucket) uint64 {
	return seqOf(meta.Get([]byte(metaIndexed)))
}

// WaitIndexed returns once every message stored before the call is in the
// search index, asking the indexer not to wait for more to gather, or
// returns the fault of a round begun after the call: a round that failed
// before it (a full disk since freed, say) is tried again first. It is
// for tests and benchmarks: Search never needs it, as it scans what is not
// indexed yet.
func (s *Store) WaitIndexed(ctx context.Context) error {
	var target uint64
	if err := s.view(func(tx *bolt.Tx) error {
		target = tablesOf(tx).messages().Sequence()
		return nil
	}); err != nil {
		return fmt.Errorf("wait for the index: %w", err)
	}
	ix := s.idx
	ix.mu.Lock()
	since := ix.rounds
	ix.mu.Unlock()
	for {
		ix.mu.Lock()
		wm, err, errOf, changed := ix.wm, ix.err, ix.errOf, ix.changed
		ix.mu.Unlock()
		if wm >= target {
			return nil
		}
		if err != nil && errOf > since {
			return err
		}
		ix.hurry()
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-ix.done:
			return ErrClosed
		}
	}
}
