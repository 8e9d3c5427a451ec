package store

import (
	"bytes"
	"context"
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
}

// Sweep applies the retention rules. It walks only the expired front of
// each time index, so its cost follows what expires, not what is stored.
// Spill files of removed messages are deleted once the removal is on disk.
// Then it removes orphan spill files, which no record names (see
// sweepOrphans): the broker sweeps as soon as it has opened the store and
// every hour after, and within an hour of the open there are none left to
// look for.
func (s *Store) Sweep(ctx context.Context) (SweepStats, error) {
	var (
		st    SweepStats
		files []string
	)
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		st, files = SweepStats{}, nil
		t := tablesOf(tx)
		now := s.now()
		var err error
		if st.History, err = sweepHistory(t, now.Add(-s.opts.HistoryRetention), &files); err != nil {
			return err
		}
		if st.Queued, err = sweepQueued(t, now.Add(-s.opts.QueueRetention), &files); err != nil {
			return err
		}
		if st.Posts, err = sweepPosts(t, now.Add(-s.opts.HistoryRetention), &files); err != nil {
			return err
		}
		if st.Forwards, err = sweepForwards(t, now); err != nil {
			return err
		}
		st.Dedup, err = sweepRenames(t, now)
		return err
	})
	if err != nil {
		return SweepStats{}, wrapFault("sweep", err)
	}
	s.removeSpilled(files...)
	if st.Orphans, err = s.sweepOrphans(); err != nil {
		return st, fmt.Errorf("sweep orphan files in %s: %w", s.dir, err)
	}
	return st, nil
}

// sweepHistory deletes messages read before cutoff.
func sweepHistory(t tables, cutoff time.Time, files *[]string) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.history, cutoff) {
		removed, err := deleteMessage(t, k[8:], files)
		if err != nil {
			return n, err
		}
		if removed {
			n++
		}
		if err := t.history.Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepQueued deletes messages queued before cutoff for names that still
// have never registered. Mail whose recipient registered since is ordinary
// unread mail now, and only leaves the index.
func sweepQueued(t tables, cutoff time.Time, files *[]string) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.queued, cutoff) {
		key := k[8:]
		rec, ok, err := getRecord(t.messages, key)
		if err != nil {
			return n, err
		}
		if ok && t.instances.Get([]byte(rec.To)) == nil {
			inbox := t.inboxes.Bucket([]byte(rec.To))
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
		if err := t.queued.Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

// sweepPosts deletes channel posts made before cutoff.
func sweepPosts(t tables, cutoff time.Time, files *[]string) (int, error) {
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
func dropUnread(t tables, inbox *bolt.Bucket, name string, key []byte) error {
	if err := inbox.Delete(key); err != nil {
		return err
	}
	if err := addCount(t.unread, name, -1); err != nil {
		return err
	}
	if err := addCount(t.meta, countUnread, -1); err != nil {
		return err
	}
	if k, _ := inbox.Cursor().First(); k == nil {
		return t.inboxes.DeleteBucket([]byte(name))
	}
	return nil
}

// deleteMessage removes a message record, its id and its entries in the
// conversation, channel, thread and search indexes (its words are found by
// tokenising its content again), and notes its spill file for removal after
// the commit. It reports false if the message was already gone.
func deleteMessage(t tables, key []byte, files *[]string) (bool, error) {
	rec, ok, err := getRecord(t.messages, key)
	if err != nil || !ok {
		return false, err
	}
	if err := t.messages.Delete(key); err != nil {
		return false, err
	}
	// The id may since belong to another message only if this one's entry
	// was lost; never delete someone else's.
	if bytes.Equal(t.ids.Get([]byte(rec.ID)), key) {
		if err := t.ids.Delete([]byte(rec.ID)); err != nil {
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
	if seq <= watermark(t.meta) {
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
	return true, addCount(t.meta, countMessages, -1)
}

func sweepForwards(t tables, now time.Time) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.forwardExpiry, now.Add(1)) {
		name := string(k[8:])
		f, ok, err := getForward(t.forwards, name)
		if err != nil {
			return n, err
		}
		// Only the forward this entry was made for: a newer one has its own.
		if ok && bytes.Equal(timeKey(f.Until, k[8:]), k) {
			if err := t.forwards.Delete(k[8:]); err != nil {
				return n, err
			}
			n++
		}
		if err := t.forwardExpiry.Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}

func sweepRenames(t tables, now time.Time) (int, error) {
	n := 0
	for _, k := range expiredKeys(t.renameExpiry, now.Add(1)) {
		id := string(k[8:])
		r, ok, err := getRename(t.renames, id)
		if err != nil {
			return n, err
		}
		if ok && bytes.Equal(timeKey(r.Until, k[8:]), k) {
			if err := t.renames.Delete(k[8:]); err != nil {
				return n, err
			}
			n++
		}
		if err := t.renameExpiry.Delete(k); err != nil {
			return n, err
		}
	}
	return n, nil
}
