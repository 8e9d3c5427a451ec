package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	bolt "go.etcd.io/bbolt"
)

// viewMail runs fn in a read transaction that sees every message announced
// early (AppendEarly) before it began: a recipient told of a message by a
// push finds it in its next check, fetch or history page, even when the
// push outran the commit. It waits for at most the commit under way.
func (s *Store) viewMail(fn func(*bolt.Tx) error) error {
	s.c.settle()
	return s.view(fn)
}

// viewInbox is viewMail for the short reads of one recipient's mail that
// a check or a fetch makes: while a transaction of sends is open, fn runs
// in it (committer.readOpen) rather than after its commit. A read that
// finds more to walk than the page it was asked for (a member's channel
// logs, or the mail of other senders) returns errLongRead there, and runs
// again after the commit, outside the writer's turn.
func (s *Store) viewInbox(fn func(*bolt.Tx) error) error {
	if err := s.whole(); err != nil {
		return err
	}
	if ran, err := s.c.readOpen(fn); ran && !errors.Is(err, errLongRead) {
		return err
	}
	return s.viewMail(fn)
}

// errLongRead is returned by a read of viewInbox run in the open (writable)
// transaction when it would pass over entries its page does not count:
// UnreadCount walks every unread channel post, Unread skips a member's
// own posts, and UnreadFrom the mail of other senders. Such a walk is not
// bounded by the page a check asks for, and the writer must not wait for
// it.
var errLongRead = errors.New("store: a read too long for the writer's turn")

// Unread returns up to limit messages name has not acked, oldest first by
// seq (limit <= 0 means 100): its inbox, and for each channel it belongs
// to the posts after its cursor there that it did not write itself. It
// reads only the inbox and the channel logs from the cursors on, never the
// history.
func (s *Store) Unread(name string, limit int) ([]ipcmesh.Message, error) {
	return s.unread(name, "", 0, limit)
}

// UnreadFrom is Unread narrowed to the direct messages that from sent
// (under any of its names, as for a search's From). Channel posts are left
// out: a channel is read in order, and acking a later post would pass over
// the unread ones before it. It reads the inbox only.
func (s *Store) UnreadFrom(name, from string, limit int) ([]ipcmesh.Message, error) {
	if err := ipcmesh.ValidateName(from); err != nil {
		return nil, err
	}
	return s.unread(name, from, 0, limit)
}

// UnreadAfter is Unread, or UnreadFrom when from is not empty, of the
// messages whose seq is above after: the next page for a reader that reads
// on past unread mail without acking it. It starts its walks at after, so a
// page costs what the first does however much unread mail lies before it.
func (s *Store) UnreadAfter(name, from string, after uint64, limit int) ([]ipcmesh.Message, error) {
	if from != "" {
		if err := ipcmesh.ValidateName(from); err != nil {
			return nil, err
		}
	}
	return s.unread(name, from, after, limit)
}

// unread is UnreadAfter.
func (s *Store) unread(name, from string, after uint64, limit int) ([]ipcmesh.Message, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	var out []ipcmesh.Message
	err := s.viewInbox(func(tx *bolt.Tx) error {
		if from != "" && tx.Writable() {
			return errLongRead
		}
		t := tablesOf(tx)
		// sent reports whether the message under an inbox key is from; a
		// record is read only to filter by sender.
		sent := func([]byte) (bool, error) { return true, nil }
		if from != "" {
			as := senders(t, from, s.now())
			msgs := seeker{c: t.messages().Cursor()}
			sent = func(k []byte) (bool, error) {
				h, ok := peekRecord(msgs.get(k))
				if !ok {
					return false, fmt.Errorf("unread entry %x: %w", k, errBadRecord)
				}
				return sentBy(as, h.from, h.time), nil
			}
		}
		var keys [][]byte
		if inbox := t.inboxes().Bucket([]byte(name)); inbox != nil {
			c := inbox.Cursor()
			for k, _ := c.Seek(seqKey(after)); k != nil && len(keys) < limit; k, _ = c.Next() {
				if seqOf(k) <= after {
					continue
				}
				ok, err := sent(k)
				if err != nil {
					return err
				}
				if ok {
					keys = append(keys, k)
				}
			}
		}
		var ms []membership
		if from == "" {
			ms = memberships(t, name)
		}
		if len(ms) > 0 {
			if tx.Writable() {
				return errLongRead
			}
			c := t.channelLog().Cursor()
			for _, m := range ms {
				// Each list is sorted and only the oldest limit of the
				// merge are kept, so no list need give more than limit.
				n := 0
				walkUnreadPosts(c, name, m, after, func(k []byte) bool {
					keys = append(keys, k[len(k)-8:])
					n++
					return n < limit
				})
			}
			slices.SortFunc(keys, bytes.Compare)
			keys = keys[:min(len(keys), limit)]
		}
		out = make([]ipcmesh.Message, 0, len(keys))
		for _, k := range keys {
			rec, ok, err := getRecord(t.messages(), k)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("unread entry %x has no message", k)
			}
			out = append(out, rec.message(seqOf(k), s.largeDir))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unread of %s: %w", name, err)
	}
	return out, nil
}

// walkUnreadPosts calls fn with the channel-log key of every post of m's
// channel after m's cursor and seq after that reader did not write, oldest
// first, until fn returns false. The log's values are the posters' names,
// so skipping one's own posts reads no message.
func walkUnreadPosts(c *bolt.Cursor, reader string, m membership, after uint64, fn func(k []byte) bool) {
	start := max(m.cursor, after)
	if start == math.MaxUint64 {
		return // no seq lies past it
	}
	prefix := chanPrefix(m.channel)
	for k, from := c.Seek(withSeq(prefix, start+1)); k != nil && inList(k, prefix); k, from = c.Next() {
		if string(from) == reader {
			continue
		}
		if !fn(k) {
			return
		}
	}
}

// UnreadCount returns how many messages Unread would return without a
// limit: the inbox's count plus the unread posts of name's channels.
func (s *Store) UnreadCount(name string) (int, error) {
	var n int
	err := s.viewInbox(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		n = count(t.unread(), name)
		ms := memberships(t, name)
		if len(ms) == 0 {
			return nil
		}
		if tx.Writable() {
			return errLongRead
		}
		c := t.channelLog().Cursor()
		for _, m := range ms {
			walkUnreadPosts(c, name, m, 0, func([]byte) bool { n++; return true })
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unread count of %s: %w", name, err)
	}
	return n, nil
}

// Ack marks ids read by name. An inbox message leaves the inbox and starts
// its history retention clock; a post of a channel name belongs to moves
// name's cursor there up to the post (posts are read in order, so a cursor
// never moves back). Ids that are unknown, already acked or not name's are
// ignored, so a retried ack is harmless. It returns how many messages
// became read.
func (s *Store) Ack(ctx context.Context, name string, ids []string) (int, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return 0, err
	}
	// An ack is journaled as a send is (see journal.go): a reader that acks
	// as it goes would otherwise make every other commit one that bbolt
	// syncs, and the sends behind it would wait for three syncs, not one.
	entry := &journalEntry{Ack: &ackEntry{Name: name, IDs: ids}}
	var n int
	err := s.c.submitJournaled(ctx, func(tx *bolt.Tx) error {
		now := s.now()
		entry.Now = now.UnixNano()
		var err error
		n, err = ackTx(tablesOf(tx), name, ids, now)
		return err
	}, nil, entry)
	if err != nil {
		return 0, wrapFault("ack for "+name, err)
	}
	return n, nil
}

// ackTx is Ack's write, at now. It reads nothing but the database, so a
// replay of the journal on the same state makes the same writes.
func ackTx(t *tables, name string, ids []string, now time.Time) (int, error) {
	n := 0
	inbox := t.inboxes().Bucket([]byte(name))
	inboxN := 0
	cursors := map[string]uint64{} // channel -> new cursor
	for _, id := range ids {
		key := bytes.Clone(t.ids().Get([]byte(id)))
		if key == nil {
			continue
		}
		if inbox != nil && inbox.Get(key) != nil {
			if err := inbox.Delete(key); err != nil {
				return 0, err
			}
			if err := t.history().Put(timeKey(now, key), nil); err != nil {
				return 0, err
			}
			inboxN++
			continue
		}
		rec, ok, err := getRecord(t.messages(), key)
		if err != nil {
			return 0, err
		}
		if !ok || rec.Channel == "" {
			continue
		}
		cur, seen := cursors[rec.Channel]
		if !seen {
			v := t.cursors().Get(cursorKey(name, rec.Channel))
			if v == nil {
				continue // not a member: nothing to move
			}
			cur = seqOf(v)
		}
		if seq := seqOf(key); seq > cur {
			cur = seq
			if rec.From != name {
				n++
			}
		}
		cursors[rec.Channel] = cur
	}
	for ch, cur := range cursors {
		if err := t.cursors().Put(cursorKey(name, ch), seqKey(cur)); err != nil {
			return 0, err
		}
	}
	n += inboxN
	if err := addCount(t.unread(), name, -inboxN); err != nil {
		return 0, err
	}
	return n, addCount(t.meta(), countUnread, -inboxN)
}

// Lookup returns the message stored under id, read or not, whoever sent or
// received it (Content is the summary when it is Large). It is for the
// broker's permission checks; Get is what a reader calls.
func (s *Store) Lookup(id string) (ipcmesh.Message, bool, error) {
	var (
		m  ipcmesh.Message
		ok bool
	)
	err := s.viewInbox(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		key := t.ids().Get([]byte(id))
		if key == nil {
			return nil
		}
		rec, found, err := getRecord(t.messages(), key)
		if err != nil || !found {
			return err
		}
		m, ok = rec.message(seqOf(key), s.largeDir), true
		return nil
	})
	if err != nil {
		return ipcmesh.Message{}, false, fmt.Errorf("look up message %q: %w", id, err)
	}
	return m, ok, nil
}

// BroadcastCopies returns the copies stored of broadcast id (the
// messages whose ids are id, a dot and a recipient's name), by the name
// that has each now: a recipient that renamed since its copy was stored
// has it under its new name, through the rename's forward. A broadcast
// sent again with its id, to find who had a copy already, asks this: a
// copy's id names its recipient as it was then, so by ids alone a renamed
// recipient would get a second.
func (s *Store) BroadcastCopies(id string) (map[string]ipcmesh.Message, error) {
	copies := make(map[string]ipcmesh.Message)
	now := s.opts.Now()
	err := s.viewInbox(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		prefix := []byte(id + ".")
		c := t.ids().Cursor()
		for k, key := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, key = c.Next() {
			rec, ok, err := getRecord(t.messages(), key)
			if err != nil {
				return err
			}
			if !ok || !rec.Broadcast {
				continue
			}
			to := rec.To
			if chain, err := forwardChain(t.forwards(), to, now); err == nil {
				to = chain[len(chain)-1]
			}
			copies[to] = rec.message(seqOf(key), s.largeDir)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up the copies of broadcast %q: %w", id, err)
	}
	return copies, nil
}

// Get returns a message and its whole body (read from its file when it is
// large) if name sent or received it, read or not (under an earlier name
// too, before it was renamed away: readsAs), or if it is a post of a
// public channel or of a private channel name is a member of. Anyone else
// gets the same not_found as for an id that does not exist, so it learns
// nothing.
func (s *Store) Get(name, id string) (ipcmesh.Message, string, error) {
	notFound := ipcmesh.Errorf(ipcmesh.CodeNotFound,
		"%s has no message with id %q: check the id (read messages are kept %s)", name, id, human.Period(s.opts.HistoryRetention))
	// A message swept meanwhile keeps its body's file until this read is
	// done.
	ticket := s.files.hold()
	defer s.files.release(ticket)
	var (
		rec    record
		found  bool
		seq    uint64
		reader bool // name may read the message: its own, or a post of a channel it may read
	)
	err := s.viewInbox(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		key := t.ids().Get([]byte(id))
		if key == nil {
			return nil
		}
		var err error
		rec, found, err = getRecord(t.messages(), key)
		seq = seqOf(key)
		if err != nil || !found || name == "" {
			return err
		}
		if rec.Channel == "" {
			reader = owns(readsAs(t, name), []byte(rec.From), []byte(rec.To), unixNano(rec.Time))
			return nil
		}
		ch, ok, err := getChannel(t.channels(), rec.Channel)
		if err != nil || !ok {
			return err
		}
		_, member := slices.BinarySearch(ch.Members, name)
		reader = !ch.Private || member
		return nil
	})
	if err != nil {
		return ipcmesh.Message{}, "", fmt.Errorf("get message %q: %w", id, err)
	}
	if !found || !reader {
		return ipcmesh.Message{}, "", notFound
	}
	m := rec.message(seq, s.largeDir)
	if rec.File == "" {
		return m, rec.Content, nil
	}
	body, err := s.readSpilled(rec.File, rec.Size)
	if err != nil {
		return ipcmesh.Message{}, "", ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"the body of message %q cannot be read from %s (%v): it was deleted or changed by hand", id, s.largeDir, err)
	}
	return m, body, nil
}
