package store

import (
	"fmt"
	"math"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	bolt "go.etcd.io/bbolt"
)

// DefaultHistoryLimit and MaxHistoryLimit bound one page of history: a
// limit of 0 or less is DefaultHistoryLimit, one over MaxHistoryLimit is
// MaxHistoryLimit.
const (
	DefaultHistoryLimit = 20
	MaxHistoryLimit     = 200
)

// Page picks one page of a conversation or a channel's history, newest
// first.
type Page struct {
	Before       uint64    // only seqs below it; 0: from the newest
	Limit        int       // <= 0: DefaultHistoryLimit; at most MaxHistoryLimit
	Since, Until time.Time // optional, both inclusive
}

// Conversation returns the direct messages between a and b, either way,
// read or not (broadcast copies included), newest first: one page of them
// as p says. more reports that older ones (within p's times) exist; the
// next page is the one before the last seq returned. It reads the
// conversation's index from the page's start (found by the time for
// Until), so a page costs the same however long the history is.
func (s *Store) Conversation(a, b string, p Page) ([]ipcmesh.Message, bool, error) {
	for _, n := range []string{a, b} {
		if err := ipcmesh.ValidateName(n); err != nil {
			return nil, false, err
		}
	}
	msgs, more, err := s.page(bucketConversations, convPrefix(a, b), p)
	if err != nil {
		return nil, false, fmt.Errorf("conversation of %s and %s: %w", a, b, err)
	}
	return msgs, more, nil
}

// ChannelHistory pages through channel name's posts as Conversation does.
// A channel that does not exist is not_found; the broker decides who may
// read which.
func (s *Store) ChannelHistory(name string, p Page) ([]ipcmesh.Message, bool, error) {
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
	msgs, more, err := s.page(bucketChannelLog, chanPrefix(name), p)
	if err != nil {
		return nil, false, fmt.Errorf("history of #%s: %w", name, err)
	}
	return msgs, more, nil
}

// page reads one page of an index list newest first.
func (s *Store) page(bucket string, prefix []byte, p Page) ([]ipcmesh.Message, bool, error) {
	limit := p.Limit
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	limit = min(limit, MaxHistoryLimit)
	var since, until int64
	if !p.Since.IsZero() {
		since = unixNano(p.Since)
	}
	if !p.Until.IsZero() {
		until = unixNano(p.Until)
	}
	var (
		out  []ipcmesh.Message
		more bool
	)
	err := s.viewMail(func(tx *bolt.Tx) error {
		messages := tablesOf(tx).messages()
		before := p.Before
		if until != 0 && until <= math.MaxInt64-int64(clockSlack) {
			// Start where the clock passed Until, not at the newest. (An
			// Until at unixNano's ceiling, past 2262, has no message after
			// it, and adding the slack would wrap around to before them
			// all.)
			if b := firstAfter(messages.Cursor(), until+int64(clockSlack)); b != 0 && (before == 0 || b < before) {
				before = b
			}
		}
		c := tx.Bucket([]byte(bucket)).Cursor()
		k := lastBefore(c, prefix, before)
		for ; k != nil && inList(k, prefix); k, _ = c.Prev() {
			seq := tailSeq(k)
			rec, ok, err := getRecord(messages, seqKey(seq))
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			t := rec.Time.UnixNano()
			if since != 0 && t < since-int64(clockSlack) {
				return nil // seqs follow the clock: nothing older matches
			}
			if since != 0 && t < since || until != 0 && t > until {
				continue
			}
			if len(out) == limit {
				more = true
				return nil
			}
			out = append(out, rec.message(seq, s.largeDir))
		}
		return nil
	})
	return out, more, err
}

// firstAfter returns the lowest seq from which on every message was stored
// after t (Unix nanoseconds), as seqs follow the clock; 0 when the newest
// message is no later than t. It costs a few dozen seeks however many
// messages there are.
func firstAfter(c *bolt.Cursor, t int64) uint64 {
	first, _ := c.First()
	last, _ := c.Last()
	if first == nil {
		return 0
	}
	lo, hi := seqOf(first), seqOf(last)+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		k, v := c.Seek(seqKey(mid))
		if h, ok := peekRecord(v); k == nil || ok && h.time > t {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	if lo > seqOf(last) {
		return 0
	}
	return lo
}

// Thread returns one page of the thread that message id belongs to,
// whether id is its first message or any reply, oldest first: its messages
// with a seq above after, the first message (while it is kept) before the
// replies, at most limit of them (0 or less: MaxHistoryLimit; more is
// allowed, for a caller that filters what it reads). It reads the thread's
// index from after on, so a page costs the same however long the thread
// is. not_found if there is no message id and no kept reply to it.
func (s *Store) Thread(id string, after uint64, limit int) ([]ipcmesh.Message, error) {
	if limit <= 0 {
		limit = MaxHistoryLimit
	}
	var out []ipcmesh.Message
	found := false
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		thread := id
		if key := t.ids().Get([]byte(id)); key != nil {
			rec, ok, err := getRecord(t.messages(), key)
			if err != nil {
				return err
			}
			if ok && rec.Thread != "" {
				thread = rec.Thread
			}
			found = ok
		}
		// A first message that was swept still names its replies.
		found = found || hasReplies(t, thread)
		if rkey := t.ids().Get([]byte(thread)); rkey != nil && seqOf(rkey) > after {
			root, ok, err := getRecord(t.messages(), rkey)
			if err != nil {
				return err
			}
			if ok {
				out = append(out, root.message(seqOf(rkey), s.largeDir))
			}
		}
		var err error
		out, err = s.threadAfter(t, thread, after, limit, out)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("thread of %q: %w", id, err)
	}
	if !found {
		return nil, ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"there is no message with id %q: check the id (read messages are kept %s)", id, human.Period(s.opts.HistoryRetention))
	}
	return out, nil
}

// ThreadAfter returns the replies in thread (the id of its first message)
// with a seq above after, oldest first, at most limit of them (0 or less:
// MaxHistoryLimit): what a waiter on the thread has not seen yet. An
// unknown thread has none.
func (s *Store) ThreadAfter(thread string, after uint64, limit int) ([]ipcmesh.Message, error) {
	if limit <= 0 {
		limit = MaxHistoryLimit
	}
	var out []ipcmesh.Message
	err := s.viewMail(func(tx *bolt.Tx) error {
		var err error
		out, err = s.threadAfter(tablesOf(tx), thread, after, limit, nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("thread %q: %w", thread, err)
	}
	return out, nil
}

// ThreadLast returns the seq of the newest kept reply in thread (the id of
// its first message), 0 if it has none. It seeks to the end of the
// thread's index instead of reading the thread.
func (s *Store) ThreadLast(thread string) (uint64, error) {
	if len(thread) > maxIDLen {
		return 0, nil
	}
	var last uint64
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		prefix := threadPrefix(thread)
		c := t.threads().Cursor()
		messages := t.messages()
		// The sweep deletes a reply and its index entry together, so the
		// newest entry names a kept reply; the walk back is for safety.
		for k := lastBefore(c, prefix, 0); k != nil && inList(k, prefix); k, _ = c.Prev() {
			if seq := tailSeq(k); messages.Get(seqKey(seq)) != nil {
				last = seq
				return nil
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("thread %q: %w", thread, err)
	}
	return last, nil
}

// hasReplies reports whether thread's index holds any reply.
func hasReplies(t *tables, thread string) bool {
	if len(thread) > maxIDLen {
		return false
	}
	prefix := threadPrefix(thread)
	k, _ := t.threads().Cursor().Seek(prefix)
	return k != nil && inList(k, prefix)
}

// threadAfter appends to out the replies in thread above after, oldest
// first, until out holds limit messages.
func (s *Store) threadAfter(t *tables, thread string, after uint64, limit int, out []ipcmesh.Message) ([]ipcmesh.Message, error) {
	if len(thread) > maxIDLen || after == 1<<64-1 {
		return out, nil
	}
	prefix := threadPrefix(thread)
	c := t.threads().Cursor()
	for k, _ := c.Seek(withSeq(prefix, after+1)); k != nil && inList(k, prefix) && len(out) < limit; k, _ = c.Next() {
		seq := tailSeq(k)
		rec, ok, err := getRecord(t.messages(), seqKey(seq))
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, rec.message(seq, s.largeDir))
		}
	}
	return out, nil
}
