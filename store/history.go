package store

import (
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// DefaultHistoryLimit and MaxHistoryLimit bound one page of history: a
// limit of 0 or less is DefaultHistoryLimit, one over MaxHistoryLimit is
// MaxHistoryLimit.
const (
	DefaultHistoryLimit = 20
	MaxHistoryLimit     = 200
)

// Conversation returns the direct messages between a and b, either way,
// read or not (broadcast copies included), newest first: those with a seq
// below before (0: from the newest), at most limit (<= 0:
// DefaultHistoryLimit; at most MaxHistoryLimit). more reports that older
// ones exist; the next page is the one before the last seq returned. It
// reads the conversation's index from the page's start, so a page costs the
// same however long the history is.
func (s *Store) Conversation(a, b string, before uint64, limit int) ([]ipcmesh.Message, bool, error) {
	for _, n := range []string{a, b} {
		if err := ipcmesh.ValidateName(n); err != nil {
			return nil, false, err
		}
	}
	msgs, more, err := s.page(bucketConversations, convPrefix(a, b), before, limit)
	if err != nil {
		return nil, false, fmt.Errorf("conversation of %s and %s: %w", a, b, err)
	}
	return msgs, more, nil
}

// ChannelHistory pages through channel name's posts as Conversation does.
// A channel that does not exist is not_found; the broker decides who may
// read which.
func (s *Store) ChannelHistory(name string, before uint64, limit int) ([]ipcmesh.Message, bool, error) {
	var exists bool
	if err := s.viewMail(func(tx *bolt.Tx) error {
		exists = tablesOf(tx).channels().Get([]byte(name)) != nil
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("history of #%s: %w", name, err)
	}
	if !exists {
		return nil, false, channelNotFound(name)
	}
	msgs, more, err := s.page(bucketChannelLog, chanPrefix(name), before, limit)
	if err != nil {
		return nil, false, fmt.Errorf("history of #%s: %w", name, err)
	}
	return msgs, more, nil
}

// page reads one page of an index list newest first.
func (s *Store) page(bucket string, prefix []byte, before uint64, limit int) ([]ipcmesh.Message, bool, error) {
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	limit = min(limit, MaxHistoryLimit)
	var (
		out  []ipcmesh.Message
		more bool
	)
	err := s.viewMail(func(tx *bolt.Tx) error {
		messages := tablesOf(tx).messages
		c := tx.Bucket([]byte(bucket)).Cursor()
		k := lastBefore(c, prefix, before)
		for ; k != nil && inList(k, prefix); k, _ = c.Prev() {
			if len(out) == limit {
				more = true
				return nil
			}
			seq := tailSeq(k)
			rec, ok, err := getRecord(messages, seqKey(seq))
			if err != nil {
				return err
			}
			if ok {
				out = append(out, rec.message(seq, s.largeDir))
			}
		}
		return nil
	})
	return out, more, err
}

// Thread returns the thread that message id belongs to, whether id is its
// first message or any reply: the first message (while it is kept), then
// the replies, oldest first. not_found if there is no message id and no
// kept reply to it.
func (s *Store) Thread(id string) ([]ipcmesh.Message, error) {
	var out []ipcmesh.Message
	found := false
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		thread := id
		if key := t.ids.Get([]byte(id)); key != nil {
			rec, ok, err := getRecord(t.messages, key)
			if err != nil {
				return err
			}
			if ok && rec.Thread != "" {
				thread = rec.Thread
			}
			found = ok
		}
		if rkey := t.ids.Get([]byte(thread)); rkey != nil {
			root, ok, err := getRecord(t.messages, rkey)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, root.message(seqOf(rkey), s.largeDir))
			}
		}
		n := len(out)
		var err error
		out, err = s.threadAfter(t, thread, 0, out)
		// A first message that was swept still names its replies.
		found = found || len(out) > n
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("thread of %q: %w", id, err)
	}
	if !found {
		return nil, ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"there is no message with id %q: check the id (read messages are kept %s)", id, humanDuration(s.opts.HistoryRetention))
	}
	return out, nil
}

// ThreadAfter returns the replies in thread (the id of its first message)
// with a seq above after, oldest first: what a waiter on the thread has
// not seen yet. An unknown thread has none.
func (s *Store) ThreadAfter(thread string, after uint64) ([]ipcmesh.Message, error) {
	var out []ipcmesh.Message
	err := s.viewMail(func(tx *bolt.Tx) error {
		var err error
		out, err = s.threadAfter(tablesOf(tx), thread, after, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("thread %q: %w", thread, err)
	}
	return out, nil
}

func (s *Store) threadAfter(t tables, thread string, after uint64, out []ipcmesh.Message) ([]ipcmesh.Message, error) {
	if len(thread) > maxIDLen || after == 1<<64-1 {
		return out, nil
	}
	prefix := threadPrefix(thread)
	c := t.threads().Cursor()
	for k, _ := c.Seek(withSeq(prefix, after+1)); k != nil && inList(k, prefix); k, _ = c.Next() {
		seq := tailSeq(k)
		rec, ok, err := getRecord(t.messages, seqKey(seq))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rec.message(seq, s.largeDir))
		}
	}
	return out, nil
}
