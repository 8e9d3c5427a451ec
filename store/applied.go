package store

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SetApplied records, with the writes made with ctx, that the store holds
// the log its owner rebuilds it from (natsstore's view of the cluster's
// log) up to event seq. Made in a Together, it is committed with the
// run's writes or not at all: after a crash the store says exactly which
// events it holds, and none is applied twice. An event applied again on
// a state that holds the events after it is not always decided as it was
// (a post refused for want of a channel that a later event made is
// stored then), and the store would hold what no other copy of the log
// holds.
func (s *Store) SetApplied(ctx context.Context, seq uint64) error {
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		return tablesOf(tx).meta().Put([]byte(metaApplied), seqKey(seq))
	})
	if err != nil {
		return wrapFault(fmt.Sprintf("record that event %d of the log is applied", seq), err)
	}
	return nil
}

// Applied is the event SetApplied last recorded, committed: 0 when none
// was.
func (s *Store) Applied() (uint64, error) {
	var seq uint64
	err := s.view(func(tx *bolt.Tx) error {
		if v := tablesOf(tx).meta().Get([]byte(metaApplied)); v != nil {
			seq = seqOf(v)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read which event of the log is applied: %w", err)
	}
	return seq, nil
}

// LastSweep is the store's clock (Options.Now) when its last sweep was
// committed, recorded in the sweep's own commit: zero when none was. A
// store rebuilt from a log (natsstore's view) sweeps at the same events
// as every other copy of the log, by the log's time since the last sweep;
// its owner's own record of that time is written after the commits, and
// after a crash could be older than the sweep the store holds. Going on
// from it, the store would sweep at an event no other copy sweeps at,
// remove read messages sooner than they, and refuse a reply to one of
// them that they store.
func (s *Store) LastSweep() (time.Time, error) {
	var t time.Time
	err := s.view(func(tx *bolt.Tx) error {
		if v := tablesOf(tx).meta().Get([]byte(metaSwept)); v != nil {
			t = time.Unix(0, int64(seqOf(v))).UTC()
		}
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("read when the store was last swept: %w", err)
	}
	return t, nil
}
