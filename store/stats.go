package store

import (
	"fmt"
	"os"
	"time"

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

// LogState is where a log that keeps a mesh stands: the log of events
// the brokers of a NATS cluster share (natsstore), which is trimmed below
// copies of their views. The bbolt store keeps no such log.
type LogState struct {
	First, Last uint64 // the oldest and newest events the log holds; First is past 1 once trimmed
	Bytes       uint64 // what the log's events take in the cluster, on each server that holds it
	// Applied is the last event this broker's view applied: a moment
	// behind Last while events arrive, far behind when the view lags or
	// stopped.
	Applied uint64
	// Copy is the event the newest copy of the views was made at, 0 when
	// there is none yet, and Copied when it was made; Every is how many
	// events apart the copies are made.
	Copy   uint64
	Copied time.Time
	Every  uint64
	// CopiesError says why the copies of the views could not be listed
	// when the log's own state was read: Copy and Copied are unknown
	// then, and the log, which writes need, answers all the same.
	CopiesError string
	// Current is how many of the servers that keep the log hold all of
	// it now, its leader among them, and Behind names the others: down,
	// cut off or catching up. A server lost leaves the cluster writing
	// with one server fewer to spare, and nothing else says so.
	Current int
	Behind  []string

	// Stream names the log in the cluster, Replicas how many servers
	// keep each write, Servers the cluster's servers as the broker was
	// given them (without credentials) and Connected the one it is
	// connected to now, empty while it is connected to none. They are
	// known without asking the cluster, so they are given while it does
	// not answer: which cluster is it is what a person asks first then.
	Stream    string
	Replicas  int
	Servers   string
	Connected string
}

// Space is how large the database file is and how much of it holds
// nothing: the pages that swept messages held, which bbolt reuses for
// what is stored next but never gives back to the disk (Compact does).
type Space struct {
	FileBytes int64 // the database file's size
	FreeBytes int64 // of it, free pages and room past the last one in use
}

// Space reads the database file's size and the free pages bbolt counted
// at its last commit: it costs a stat of the file, however much is
// stored.
func (s *Store) Space() (Space, error) {
	var sp Space
	err := s.view(func(tx *bolt.Tx) error {
		fi, err := os.Stat(s.db.Path())
		if err != nil {
			return err
		}
		st := s.db.Stats()
		// tx.Size is the end of the last page in use; pages pending are
		// those freed by commits that a read still open may see.
		used := tx.Size() - int64(st.FreePageN+st.PendingPageN)*int64(s.db.Info().PageSize)
		sp = Space{FileBytes: fi.Size(), FreeBytes: max(fi.Size()-used, 0)}
		return nil
	})
	if err != nil {
		return Space{}, fmt.Errorf("space: %w", err)
	}
	return sp, nil
}
