package natsstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/store"
)

// catchUpAfter is how long a write waits for the consumer to bring its
// event before it reads the log itself: the consumer delivers within a
// millisecond, unless its server died and it is being made anew, which
// takes seconds.
const catchUpAfter = 100 * time.Millisecond

// catchUp applies the log up to seq, reading it itself, for a write whose
// event the consumer has not delivered in time.
func (s *Store) catchUp(ctx context.Context, seq uint64) error {
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	return s.catchUpLocked(ctx, seq)
}

// CatchUp brings the view up to the log as the cluster holds it now:
// every event acked before the call is applied when it returns. The view
// follows the log a moment behind, so a channel another host made an
// instant ago may not be in it yet; the broker calls this before it
// refuses for want of one (ipc.Follower). It asks the cluster where the
// log ends, gives the consumer a moment to bring the rest, and reads
// what it has not brought itself.
func (s *Store) CatchUp(ctx context.Context) error {
	if err := s.failure(); err != nil {
		return err
	}
	info, err := s.log_.Info(ctx)
	if err != nil {
		return unavailable("could not ask where the log ends", s.offline(err))
	}
	last := info.State.LastSeq
	if s.applied() >= last {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, catchUpAfter)
	err = s.waitApplied(wctx, last)
	cancel()
	if err == nil || ctx.Err() != nil {
		return err
	}
	return s.catchUp(ctx, last)
}

func (s *Store) catchUpLocked(ctx context.Context, upTo uint64) error {
	for s.applied() < upTo {
		if err := s.failure(); err != nil {
			return err
		}
		if upTo-s.applied() >= batchFrom {
			err := s.applyBatches(ctx, upTo)
			if err == nil {
				return nil
			}
			if !errors.Is(err, errNoBatch) {
				return err
			}
		}
		seq := s.applied() + 1
		raw, err := s.readEvent(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			// This view may have lagged behind by more than the log
			// keeps. The restore is not the caller's to cut short (a
			// write's wait, keepUp's tick): every caller needs it done.
			rctx, cancel := s.untilClosed(context.Background())
			first, trimmed := s.trimmedPast(rctx, seq)
			if trimmed {
				err = s.restoreLagging(rctx, seq, first)
			}
			cancel()
			if trimmed && err != nil {
				s.fail(err)
				return err
			}
			if trimmed {
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("read event %d of the log: %w", seq, err)
		}
		s.applyLocked(seq, raw.Time, raw.Data)
		if s.applied() < seq && s.failure() == nil {
			return store.ErrClosed // Close is under way
		}
	}
	return nil
}

// trimmedPast reports whether the log was trimmed past event seq, and
// where it starts.
func (s *Store) trimmedPast(ctx context.Context, seq uint64) (first uint64, trimmed bool) {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	info, err := s.log_.Info(ctx)
	if err != nil {
		return 0, false
	}
	return info.State.FirstSeq, info.State.FirstSeq > seq
}

// A view that lags far behind the log (its host slept, or its broker was
// stopped while the other hosts wrote) reads what it lacks in batches: a
// read of one event costs a round trip to the cluster, on loopback about
// what applying it costs, over a link to another network many times that,
// and the write that waits for the view waited for every one of them
// (BenchmarkCatchUp). batchFrom is the lag from which it does, and
// catchUpBatch how many events one batch asks for.
const (
	batchFrom    = 32
	catchUpBatch = 1024
)

// runBytes bounds the messages of the log a view holds at once to apply
// them together (applyEvents): a batch of 1,024 events of up to a NATS
// message each would be a gigabyte.
const runBytes = 4 << 20

// applyBatches applies the log from the event after the last one applied
// up to upTo, read in batches from a consumer of the log's own. It
// returns errNoBatch once a batch brings nothing, or not the next event
// (the log was trimmed past it): the reads of single events know what to
// do about those, and go on from where it stopped.
func (s *Store) applyBatches(ctx context.Context, upTo uint64) error {
	cctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	cons, err := s.log_.OrderedConsumer(cctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   s.applied() + 1,
		// Deleted once read; should that fail, the cluster drops it.
		InactiveThreshold: time.Minute,
	})
	cancel()
	if err != nil {
		return errNoBatch
	}
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			dctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
			defer cancel()
			s.log_.DeleteConsumer(dctx, info.Name)
		}
	}()
	for s.applied() < upTo {
		fctx, cancel := context.WithTimeout(ctx, readAttempt)
		batch, err := cons.Fetch(int(min(upTo-s.applied(), catchUpBatch)), jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			return errNoBatch
		}
		// The events are applied in runs of up to runBytes of messages,
		// each run in as few commits of the view as it can (applyEvents).
		var (
			evs  []logEvent
			size int
			got  int
			next = s.applied() + 1
		)
		applyRead := func() bool {
			if len(evs) == 0 {
				return true
			}
			last := evs[len(evs)-1].seq
			s.applyEvents(evs)
			got += len(evs)
			evs, size = evs[:0], 0
			return s.applied() >= last
		}
		for msg := range batch.Messages() {
			meta, err := msg.Metadata()
			if err != nil || meta.Sequence.Stream != next {
				continue // read to the end, which ends the batch's request
			}
			evs = append(evs, logEvent{seq: next, stored: meta.Timestamp, data: msg.Data()})
			size += len(msg.Data())
			next++
			if size >= runBytes && !applyRead() {
				cancel()
				return cmp.Or(s.failure(), store.ErrClosed) // failed, or Close is under way
			}
		}
		if !applyRead() {
			cancel()
			return cmp.Or(s.failure(), store.ErrClosed) // failed, or Close is under way
		}
		cancel()
		if got == 0 {
			return errNoBatch
		}
	}
	return nil
}

// errNoBatch says that applyBatches stopped without an error of the view.
var errNoBatch = errors.New("the log is read an event at a time from here")
