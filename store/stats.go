package store

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Stats are the store's totals.
type Stats struct {
	Instances int // instance records
	Messages  int // stored messages, read or unread
	Unread    int // messages waiting in inboxes
}

// Stats reads the totals from counters kept with every write, so it costs
// the same however much is stored.
func (s *Store) Stats() (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		st = statsOf(tx)
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// statsOf reads the totals of the store in tx.
func statsOf(tx *bolt.Tx) Stats {
	meta := tablesOf(tx).meta()
	if meta == nil {
		return Stats{}
	}
	return Stats{
		Instances: count(meta, countInstances),
		Messages:  count(meta, countMessages),
		Unread:    count(meta, countUnread),
	}
}
