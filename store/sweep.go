package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SweepStats counts what one Sweep removed.
type SweepStats struct {
	History  int // read messages past HistoryRetention
	Queued   int // unread messages to never-registered names past QueueRetention
	Forwards int // expired rename forwards
	Dedup    int // expired rename request ids
	Posts    int // channel posts past HistoryRetention since they were posted
	Orphans  int // large-body and shared-value files no record names, past orphanGrace
	// Instances counts the instances forgotten: gone for as long as read
	// history is kept, with no session, unread mail, access key, channel
	// or forward left (forget.go).
	Instances int
}

// Sweep applies the retention rules. It walks only the expired front of
// each time index, so its cost follows what expires, not what is stored.
// Spill files of removed messages are deleted once the removal is on disk.
// Then it removes orphan spill files, which no record names (see
// sweepOrphans): the broker sweeps as soon as it has opened the store and
// every hour after, and within an hour of the open there are none left to
// look for.
func (s *Store) Sweep(ctx context.Context) (SweepStats, error) {
	return s.sweep(ctx, s.opts.HistoryRetention)
}

// SweepWithin is Sweep with keep in place of the store's HistoryRetention;
// 0 is the store's own. A view of a log that the brokers of several hosts
// write (natsstore) sweeps by the retention of the broker that wrote the
// event it sweeps at, so that every view removes the same messages at the
// same point of the log: a view that removed a message sooner would refuse
// a reply to it that the others store.
func (s *Store) SweepWithin(ctx context.Context, keep time.Duration) (SweepStats, error) {
	if keep <= 0 {
		keep = s.opts.HistoryRetention
	}
	return s.sweep(ctx, keep)
}

// ErrInstancesKept is what the error of a sweep matches (errors.Is) when
// it did all its work but forget the instances long gone, for a record it
// could not read: the sweep is done, and the next one tries again.
var ErrInstancesKept = errors.New("instances long gone were kept")

func (s *Store) sweep(ctx context.Context, keep time.Duration) (SweepStats, error) {
	if heldBy(ctx, s.c) != nil {
		return SweepStats{}, errors.New("sweep: called within Together, whose writes it would not see: sweep before the writes made together, or after")
	}
	var (
		st    SweepStats
		files []string
	)
	// A record that cannot be read keeps instances as they are, not the
	// rest of the retention from its work: it is said after it.
	gone, unreadable := s.forgettable(s.now().Add(-keep))
	var skipped error
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		st, files, skipped = SweepStats{}, nil, nil
		t := tablesOf(tx)
		now := s.now()
		var err error
		if st.History, err = sweepHistory(t, now.Add(-keep), &files); err != nil {
			return err
		}
		if st.Queued, err = sweepQueued(t, now.Add(-s.opts.QueueRetention), &files); err != nil {
			return err
		}
		if st.Posts, err = sweepPosts(t, now.Add(-keep), &files); err != nil {
			return err
		}
		if st.Forwards, err = sweepForwards(t, now); err != nil {
			return err
		}
		if st.Dedup, err = sweepRenames(t, now); err != nil {
			return err
		}
		if err := t.meta().Put([]byte(metaSwept), seqKey(uint64(now.UnixNano()))); err != nil {
			return err
		}
		if unreadable != nil {
			return nil
		}
		st.Instances, skipped, err = forgetInstances(t, gone, now, now.Add(-keep))
		return err
	})
	if err != nil {
		return SweepStats{}, wrapFault("sweep", err)
	}
	s.removeSpilled(files...)
	if st.Orphans, err = s.sweepOrphans(); err != nil {
		return st, fmt.Errorf("sweep orphan files in %s: %w", s.dir, err)
	}
	if err := cmp.Or(unreadable, skipped); err != nil {
		return st, fmt.Errorf("sweep: %w, as a record could not be read: %w", ErrInstancesKept, err)
	}
	return st, nil
}

// sweepHistory deletes messages read before cutoff.
func sweepHistory(t *tables, cutoff time.Time, files *[]string) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.history(), cutoff) {
		removed, err := deleteMessage(t, k[8:], files)
		if err != nil {
			return n, err
		}
		if removed {
			n++
		}
		if err := t.history().Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepQueued deletes messages queued before cutoff for names that still
// have never registered. Mail whose recipient registered since is ordinary
// unread mail now, and only leaves the index.
func sweepQueued(t *tables, cutoff time.Time, files *[]string) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.queued(), cutoff) {
		key := k[8:]
		rec, ok, err := getRecord(t.messages(), key)
		if err != nil {
			return n, err
		}
		if ok && t.instances().Get([]byte(rec.To)) == nil {
			inbox := t.inboxes().Bucket([]byte(rec.To))
			if inbox != nil && inbox.Get(key) != nil {
				if err := dropUnread(t, inbox, rec.To, key); err != nil {
					return n, err
				}
				if _, err := deleteMessage(t, key, files); err != nil {
					return n, err
				}
				n++
			}
		}
		if err := t.queued().Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepPosts deletes channel posts made before cutoff.
func sweepPosts(t *tables, cutoff time.Time, files *[]string) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.channelExpiry(), cutoff) {
		removed, err := deleteMessage(t, k[8:], files)
		if err != nil {
			return n, err
		}
		if removed {
			n++
		}
		if err := t.channelExpiry().Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// dropUnread takes one message out of an inbox, and the inbox of a name
// that never registered out of the store once it is empty.
func dropUnread(t *tables, inbox *bolt.Bucket, name string, key []byte) error {
	if err := inbox.Delete(key); err != nil {
		return err
	}
	if err := addCount(t.unread(), name, -1); err != nil {
		return err
	}
	if err := addCount(t.meta(), countUnread, -1); err != nil {
		return err
	}
	if k, _ := inbox.Cursor().First(); k == nil {
		return t.inboxes().DeleteBucket([]byte(name))
	}
	return nil
}

// deleteMessage removes a message record, its id and its entries in the
// conversation, channel, thread and search indexes (its words are found by
// tokenising its content again), and notes its spill file for removal after
// the commit. It reports false if the message was already gone.
func deleteMessage(t *tables, key []byte, files *[]string) (bool, error) {
	rec, ok, err := getRecord(t.messages(), key)
	if err != nil || !ok {
		return false, err
	}
	if err := t.messages().Delete(key); err != nil {
		return false, err
	}
	// The id may since belong to another message only if this one's entry
	// was lost; never delete someone else's.
	if bytes.Equal(t.ids().Get([]byte(rec.ID)), key) {
		if err := t.ids().Delete([]byte(rec.ID)); err != nil {
			return false, err
		}
	}
	seq := seqOf(key)
	if rec.Channel != "" {
		if err := t.channelLog().Delete(withSeq(chanPrefix(rec.Channel), seq)); err != nil {
			return false, err
		}
		if t.channelStats().Get([]byte(rec.Channel)) != nil {
			st := getChannelStats(t.channelStats(), rec.Channel)
			st.Messages = max(st.Messages-1, 0)
			if err := t.channelStats().Put([]byte(rec.Channel), st.marshal()); err != nil {
				return false, err
			}
		}
	} else if err := t.conversations().Delete(withSeq(convPrefix(rec.From, rec.To), seq)); err != nil {
		return false, err
	}
	if rec.Thread != "" {
		if err := t.threads().Delete(withSeq(threadPrefix(rec.Thread), seq)); err != nil {
			return false, err
		}
	}
	// Past the watermark nothing is indexed yet, and the indexer skips
	// messages that are gone by the time it writes.
	if seq <= watermark(t.meta()) {
		words := t.words()
		for _, w := range tokens(rec.Content) {
			if err := words.Delete(withSeq(wordPrefix(w), seq)); err != nil {
				return false, err
			}
		}
	}
	if rec.File != "" {
		*files = append(*files, rec.File)
	}
	return true, addCount(t.meta(), countMessages, -1)
}

// sweepForwards deletes rename forwards that have ended.
func sweepForwards(t *tables, now time.Time) (int, error) {
	return sweepExpiring(t.forwardExpiry(), t.forwards(), now, func(name []byte) (time.Time, bool, error) {
		f, ok, err := getForward(t.forwards(), string(name))
		return f.Until, ok, err
	})
}

// sweepRenames deletes rename request ids past their retention.
func sweepRenames(t *tables, now time.Time) (int, error) {
	return sweepExpiring(t.renameExpiry(), t.renames(), now, func(id []byte) (time.Time, bool, error) {
		r, ok, err := getRename(t.renames(), string(id))
		return r.Until, ok, err
	})
}

// sweepExpiring walks the entries of expiry, a time index of b, that are
// due by now, and deletes each with the entry of b it was made for. until
// reads the expiry an entry of b has now: an entry that was replaced since
// has an index entry of its own, and stays.
func sweepExpiring(expiry, b *bolt.Bucket, now time.Time, until func(key []byte) (time.Time, bool, error)) (int, error) {
	n := 0
	for _, k := range expiredKeys(expiry, now.Add(1)) {
		key := k[8:]
		u, ok, err := until(key)
		if err != nil {
			return n, err
		}
		if ok && bytes.Equal(timeKey(u, key), k) {
			if err := b.Delete(key); err != nil {
				return n, err
			}
			n++
		}
		if err := expiry.Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}
