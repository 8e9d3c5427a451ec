package store

import (
	"bytes"
	"fmt"
	"math"
	"slices"
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
//
// The conversation spans renames: it holds the messages between any
// earlier names of a and of b (readsAs), each up to the time it was
// renamed away, so that an instance that renamed itself keeps what it
// discussed before.
func (s *Store) Conversation(a, b string, p Page) ([]ipcmesh.Message, bool, error) {
	for _, n := range []string{a, b} {
		if err := ipcmesh.ValidateName(n); err != nil {
			return nil, false, err
		}
	}
	msgs, more, err := s.page(bucketConversations, p, func(t *tables) []indexList {
		return conversationLists(readsAs(t, a), readsAs(t, b))
	})
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
	msgs, more, err := s.page(bucketChannelLog, p, func(*tables) []indexList {
		return []indexList{{prefix: chanPrefix(name)}}
	})
	if err != nil {
		return nil, false, fmt.Errorf("history of #%s: %w", name, err)
	}
	return msgs, more, nil
}

// indexList is one list of an index that a page reads: the entries under
// prefix, of messages stored up to until (Unix nanoseconds; 0: whenever).
type indexList struct {
	prefix []byte
	until  int64
}

// conversationLists returns the lists of the conversations between each
// of as and each of bs, each bounded by the earlier of their times: a
// message between two names is in the conversation of the instances that
// held them when it was sent. Two pairs of the same names (each once the
// other's) make one list, bounded by the later time. At most
// maxSenderNames lists, the current names' first.
func conversationLists(as, bs []alias) []indexList {
	var out []indexList
	for _, x := range as {
		for _, y := range bs {
			if x.name == y.name {
				continue
			}
			l := indexList{prefix: convPrefix(x.name, y.name), until: minBound(x.until, y.until)}
			if i := slices.IndexFunc(out, func(o indexList) bool { return bytes.Equal(o.prefix, l.prefix) }); i >= 0 {
				out[i].until = maxBound(out[i].until, l.until)
			} else if len(out) < maxSenderNames {
				out = append(out, l)
			}
		}
	}
	return out
}

// minBound and maxBound compare two bounds in Unix nanoseconds, 0 being none
// (later than any).
func minBound(a, b int64) int64 {
	if a == 0 || b != 0 && b < a {
		return b
	}
	return a
}

func maxBound(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	return max(a, b)
}

// page reads one page of the index lists that lists returns, merged newest
// first.
func (s *Store) page(bucket string, p Page, lists func(*tables) []indexList) ([]ipcmesh.Message, bool, error) {
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
		m := newMerge(tx.Bucket([]byte(bucket)), lists(tablesOf(tx)), before)
		for l, seq := m.next(); l != nil; l, seq = m.next() {
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
			if since != 0 && t < since || until != 0 && t > until || l.until != 0 && t > l.until {
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

// merge reads index lists newest first, each from a seq below before: one
// cursor a list, the highest seq of them next. The lists are distinct, so
// no seq is in two of them.
type merge struct {
	lists []indexList
	curs  []*bolt.Cursor
	keys  [][]byte // each list's current entry; nil once it ended
}

func newMerge(b *bolt.Bucket, lists []indexList, before uint64) *merge {
	m := &merge{lists: lists, curs: make([]*bolt.Cursor, len(lists)), keys: make([][]byte, len(lists))}
	for i, l := range lists {
		m.curs[i] = b.Cursor()
		if k := lastBefore(m.curs[i], l.prefix, before); k != nil && inList(k, l.prefix) {
			m.keys[i] = k
		}
	}
	return m
}

// next returns the list of the newest entry not read yet and its seq, and
// moves past it; nil once every list ended.
func (m *merge) next() (*indexList, uint64) {
	best := -1
	for i, k := range m.keys {
		if k != nil && (best < 0 || tailSeq(k) > tailSeq(m.keys[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil, 0
	}
	seq := tailSeq(m.keys[best])
	if k, _ := m.curs[best].Prev(); k != nil && inList(k, m.lists[best].prefix) {
		m.keys[best] = k
	} else {
		m.keys[best] = nil
	}
	return &m.lists[best], seq
}
