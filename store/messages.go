package store

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// maxIDLen keeps a client's message id well inside bbolt's key limit.
const maxIDLen = 256

// Draft is a message as the broker hands it to the store.
type Draft struct {
	ID        string // client-chosen unique id (the broker validates its form)
	From, To  string
	Content   string
	Broadcast bool
	Type      string // "" or one of ipcmesh.Types() ("message" is stored as "")
	ReplyTo   string // id of the message answered: Message.Thread is set from it; unknown -> not_found
	Channel   string // normalised channel name: a channel post (To is ignored); unknown -> not_found
	Shared    string // a shared-data key the message points at, stored as is
}

// Delivery is what became of one Draft.
type Delivery struct {
	Message   ipcmesh.Message // as stored (Content is the summary when Large)
	Duplicate bool            // the ID was already stored by the same sender: Message is the earlier one and nothing new was written
	Forwarded bool            // To was a renamed name: Message.To is the final name, Message.SentTo the name used
	Queued    bool            // the final recipient has never registered: kept QueueRetention for it
	Err       error           // *ipcmesh.Error for this draft alone; nothing was written for it
}

// Append stores drafts and returns one Delivery per draft, in order. A draft
// that is refused (invalid_name, too_large, inbox_full, conflict,
// rename_loop) is refused alone, in its Delivery; the error is for the whole
// call (context, disk), and then nothing was written.
func (s *Store) Append(ctx context.Context, drafts []Draft) ([]Delivery, error) {
	return s.AppendEarly(ctx, drafts, nil)
}

// AppendEarly is Append that also calls early with the deliveries as soon as
// they are decided, while the commit's fsync is still under way. early runs
// in the caller's goroutine, so the store's one writer never waits on it. The broker
// uses it to push a message to its recipient while the disk catches up: the
// sender is still answered only once the message is durable, and a read of
// mail (Unread, Lookup, the histories, Search) made after the push waits for
// the commit, so it finds the message. If the commit fails after early ran,
// early announced messages that were not stored; their sender gets the error
// and retries with the same ids.
func (s *Store) AppendEarly(ctx context.Context, drafts []Draft, early func([]Delivery)) ([]Delivery, error) {
	if len(drafts) == 0 {
		return nil, ctx.Err()
	}
	out := make([]Delivery, len(drafts))
	refused := make([]error, len(drafts))
	files := make([]string, len(drafts))
	for i, d := range drafts {
		if refused[i] = s.checkDraft(d); refused[i] != nil {
			continue
		}
		if len(d.Content) > s.opts.LargeMessageBytes {
			name, err := s.spill(d.Content)
			if err != nil {
				s.removeSpilled(files...)
				return nil, fmt.Errorf("append: %w", err)
			}
			files[i] = name
		}
	}

	var announce func()
	if early != nil {
		announce = func() { early(out) }
	}
	err := s.c.submitEarly(ctx, func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		now := s.now()
		for i, d := range drafts {
			if refused[i] != nil {
				out[i] = Delivery{Err: refused[i]}
				continue
			}
			dl, err := s.appendTx(t, d, files[i], now)
			if err != nil {
				return err
			}
			out[i] = dl
		}
		return nil
	}, announce)
	if err != nil {
		s.removeSpilled(files...)
		return nil, wrapFault("append", err)
	}
	for i, dl := range out {
		if dl.Err != nil || dl.Duplicate {
			s.removeSpilled(files[i])
		}
	}
	s.sent.Add(1)
	s.idx.wake()
	return out, nil
}

// checkDraft refuses what can be refused without the database.
func (s *Store) checkDraft(d Draft) error {
	if d.ID == "" || len(d.ID) > maxIDLen {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a message needs an id of 1-%d bytes, got %d: let the client make one per message", maxIDLen, len(d.ID))
	}
	if err := ipcmesh.ValidateName(d.From); err != nil {
		return ipcmesh.Errorf(ipcmesh.CodeInvalidName, "sender: %v", err)
	}
	if d.Channel != "" {
		if err := checkChannelName(d.Channel); err != nil {
			return err
		}
	} else if err := ipcmesh.ValidateName(d.To); err != nil {
		return ipcmesh.Errorf(ipcmesh.CodeInvalidName, "recipient: %v", err)
	}
	if err := ipcmesh.ValidateType(d.Type); err != nil {
		return err
	}
	if len(d.ReplyTo) > maxIDLen {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "reply_to must be a message id of at most %d bytes, got %d", maxIDLen, len(d.ReplyTo))
	}
	if d.Shared != "" {
		if err := ipcmesh.ValidateSharedKey(d.Shared); err != nil {
			return err
		}
	}
	if len(d.Content) > s.opts.MaxMessageBytes {
		to := d.To
		if d.Channel != "" {
			to = "#" + d.Channel
		}
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
			"message %s to %s is %d bytes, over the limit of %d bytes: shorten it or split it into several messages",
			d.ID, to, len(d.Content), s.opts.MaxMessageBytes)
	}
	return nil
}

// appendTx stores one draft whose body, if large, is already in file.
func (s *Store) appendTx(t tables, d Draft, file string, now time.Time) (Delivery, error) {
	if key := t.ids.Get([]byte(d.ID)); key != nil {
		rec, ok, err := getRecord(t.messages, key)
		if err != nil {
			return Delivery{}, err
		}
		if !ok {
			return Delivery{}, fmt.Errorf("message id %q points at missing seq %x", d.ID, key)
		}
		if rec.From != d.From {
			return Delivery{Err: ipcmesh.Errorf(ipcmesh.CodeConflict,
				"message id %q is already taken by another sender's message: give each message a new id", d.ID)}, nil
		}
		return Delivery{Message: rec.message(seqOf(key), s.largeDir), Duplicate: true}, nil
	}

	var thread string
	if d.ReplyTo != "" {
		pkey := t.ids.Get([]byte(d.ReplyTo))
		if pkey == nil {
			return Delivery{Err: ipcmesh.Errorf(ipcmesh.CodeNotFound,
				"message %q that this one replies to does not exist: check reply_to (read messages are kept %s)",
				d.ReplyTo, humanDuration(s.opts.HistoryRetention))}, nil
		}
		parent, ok, err := getRecord(t.messages, pkey)
		if err != nil {
			return Delivery{}, err
		}
		if !ok {
			return Delivery{}, fmt.Errorf("message id %q points at missing seq %x", d.ReplyTo, pkey)
		}
		thread = parent.Thread
		if thread == "" {
			thread = parent.ID
		}
	}
	typ := d.Type
	if typ == ipcmesh.TypeMessage {
		typ = ""
	}
	rec := record{
		ID:        d.ID,
		From:      d.From,
		Time:      time.Unix(0, now.UnixNano()).UTC(),
		Broadcast: d.Broadcast,
		Content:   d.Content,
		Size:      len(d.Content),
		File:      file,
		Type:      typ,
		ReplyTo:   d.ReplyTo,
		Thread:    thread,
		Shared:    d.Shared,
	}
	if file != "" {
		rec.Content = summarize(d.Content)
	}
	if d.Channel != "" {
		return s.postTx(t, d, rec)
	}

	chain, err := forwardChain(t.forwards, d.To, now)
	if isRefusal(err) {
		return Delivery{Err: err}, nil
	}
	if err != nil {
		return Delivery{}, err
	}
	to := chain[len(chain)-1]
	if n := count(t.unread, to); n >= s.opts.InboxCap {
		return Delivery{Err: ipcmesh.Errorf(ipcmesh.CodeInboxFull,
			"the inbox of %s is full: %d messages are waiting unread (the cap is %d); %s must read (check) some before more can be delivered",
			to, n, s.opts.InboxCap, to)}, nil
	}

	seq, err := t.messages.NextSequence()
	if err != nil {
		return Delivery{}, err
	}
	rec.To = to
	if to != d.To {
		rec.SentTo = d.To
	}
	queued := t.instances.Get([]byte(to)) == nil
	if err := storeMessage(t, seq, &rec, queued); err != nil {
		return Delivery{}, err
	}
	return Delivery{
		Message:   rec.message(seq, s.largeDir),
		Forwarded: to != d.To,
		Queued:    queued,
	}, nil
}

// postTx stores a channel post: once, under its seq, in the channel's log
// and its expiry index; never in an inbox. Members read it through their
// cursors.
func (s *Store) postTx(t tables, d Draft, rec record) (Delivery, error) {
	ch := d.Channel
	if t.channels().Get([]byte(ch)) == nil {
		return Delivery{Err: channelNotFound(ch)}, nil
	}
	seq, err := t.messages.NextSequence()
	if err != nil {
		return Delivery{}, err
	}
	rec.To = "#" + ch
	rec.Channel = ch
	key := seqKey(seq)
	st := getChannelStats(t.channelStats(), ch)
	// A poster that had read everything has read its own post too, so its
	// cursor moves along and its Unread never walks its own posts.
	ck := cursorKey(rec.From, ch)
	if cur := t.cursors().Get(ck); cur != nil && seqOf(cur) >= st.LastSeq {
		if err := t.cursors().Put(ck, key); err != nil {
			return Delivery{}, err
		}
	}
	st.Messages++
	st.LastActive = rec.Time
	st.LastSeq = seq
	for _, put := range []struct {
		b    *bolt.Bucket
		k, v []byte
	}{
		{t.messages, key, rec.marshal()},
		{t.ids, []byte(rec.ID), key},
		{t.channelLog(), withSeq(chanPrefix(ch), seq), []byte(rec.From)},
		{t.channelExpiry(), timeKey(rec.Time, key), nil},
		{t.channelStats(), []byte(ch), st.marshal()},
	} {
		if err := put.b.Put(put.k, put.v); err != nil {
			return Delivery{}, err
		}
	}
	if rec.Thread != "" {
		if err := t.threads().Put(withSeq(threadPrefix(rec.Thread), seq), nil); err != nil {
			return Delivery{}, err
		}
	}
	if err := addCount(t.meta, countMessages, 1); err != nil {
		return Delivery{}, err
	}
	return Delivery{Message: rec.message(seq, s.largeDir)}, nil
}

// storeMessage writes a new direct message and every index and counter it
// touches.
func storeMessage(t tables, seq uint64, rec *record, queued bool) error {
	key := seqKey(seq)
	inbox, err := t.inboxes.CreateBucketIfNotExists([]byte(rec.To))
	if err != nil {
		return err
	}
	for _, put := range []struct {
		b    *bolt.Bucket
		k, v []byte
	}{
		{t.messages, key, rec.marshal()},
		{t.ids, []byte(rec.ID), key},
		{inbox, key, []byte(rec.ID)},
		{t.conversations(), withSeq(convPrefix(rec.From, rec.To), seq), nil},
	} {
		if err := put.b.Put(put.k, put.v); err != nil {
			return err
		}
	}
	if rec.Thread != "" {
		if err := t.threads().Put(withSeq(threadPrefix(rec.Thread), seq), nil); err != nil {
			return err
		}
	}
	if queued {
		if err := t.queued.Put(timeKey(rec.Time, key), nil); err != nil {
			return err
		}
	}
	if err := addCount(t.unread, rec.To, 1); err != nil {
		return err
	}
	if err := addCount(t.meta, countMessages, 1); err != nil {
		return err
	}
	return addCount(t.meta, countUnread, 1)
}

// viewMail runs fn in a read transaction that sees every message announced
// early (AppendEarly) before it began: a recipient told of a message by a
// push finds it in its next check, fetch or history page, even when the
// push outran the commit. It waits for at most the commit under way.
func (s *Store) viewMail(fn func(*bolt.Tx) error) error {
	s.c.settle()
	return s.db.View(fn)
}

// Unread returns up to limit messages name has not acked, oldest first by
// seq (limit <= 0 means 100): its inbox, and for each channel it belongs
// to the posts after its cursor there that it did not write itself. It
// reads only the inbox and the channel logs from the cursors on, never the
// history.
func (s *Store) Unread(name string, limit int) ([]ipcmesh.Message, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	var out []ipcmesh.Message
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		var keys [][]byte
		if inbox := t.inboxes.Bucket([]byte(name)); inbox != nil {
			c := inbox.Cursor()
			for k, _ := c.First(); k != nil && len(keys) < limit; k, _ = c.Next() {
				keys = append(keys, k)
			}
		}
		ms := memberships(t, name)
		if len(ms) > 0 {
			c := t.channelLog().Cursor()
			for _, m := range ms {
				// Each list is sorted and only the oldest limit of the
				// merge are kept, so no list need give more than limit.
				n := 0
				walkUnreadPosts(c, name, m, func(k []byte) bool {
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
			rec, ok, err := getRecord(t.messages, k)
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
// channel after m's cursor that reader did not write, oldest first, until
// fn returns false. The log's values are the posters' names, so skipping
// one's own posts reads no message.
func walkUnreadPosts(c *bolt.Cursor, reader string, m membership, fn func(k []byte) bool) {
	prefix := chanPrefix(m.channel)
	for k, from := c.Seek(withSeq(prefix, m.cursor+1)); k != nil && inList(k, prefix); k, from = c.Next() {
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
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		n = count(t.unread, name)
		ms := memberships(t, name)
		if len(ms) == 0 {
			return nil
		}
		c := t.channelLog().Cursor()
		for _, m := range ms {
			walkUnreadPosts(c, name, m, func([]byte) bool { n++; return true })
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
	var n int
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		n = 0
		t := tablesOf(tx)
		inbox := t.inboxes.Bucket([]byte(name))
		now := s.now()
		inboxN := 0
		cursors := map[string]uint64{} // channel -> new cursor
		for _, id := range ids {
			key := bytes.Clone(t.ids.Get([]byte(id)))
			if key == nil {
				continue
			}
			if inbox != nil && inbox.Get(key) != nil {
				if err := inbox.Delete(key); err != nil {
					return err
				}
				if err := t.history.Put(timeKey(now, key), nil); err != nil {
					return err
				}
				inboxN++
				continue
			}
			rec, ok, err := getRecord(t.messages, key)
			if err != nil {
				return err
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
				return err
			}
		}
		n += inboxN
		if err := addCount(t.unread, name, -inboxN); err != nil {
			return err
		}
		return addCount(t.meta, countUnread, -inboxN)
	})
	if err != nil {
		return 0, wrapFault("ack for "+name, err)
	}
	return n, nil
}

// Lookup returns the message stored under id, read or not, whoever sent or
// received it (Content is the summary when it is Large). It is for the
// broker's permission checks; Get is what a reader calls.
func (s *Store) Lookup(id string) (ipcmesh.Message, bool, error) {
	var (
		m  ipcmesh.Message
		ok bool
	)
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		key := t.ids.Get([]byte(id))
		if key == nil {
			return nil
		}
		rec, found, err := getRecord(t.messages, key)
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

// Get returns a message and its whole body (read from its file when it is
// large) if name sent or received it, read or not, or if it is a post of a
// public channel or of a private channel name is a member of. Anyone else
// gets the same not_found as for an id that does not exist, so it learns
// nothing.
func (s *Store) Get(name, id string) (ipcmesh.Message, string, error) {
	notFound := ipcmesh.Errorf(ipcmesh.CodeNotFound,
		"%s has no message with id %q: check the id (read messages are kept %s)", name, id, humanDuration(s.opts.HistoryRetention))
	var (
		rec    record
		found  bool
		seq    uint64
		reader bool // name may read the channel the message was posted to
	)
	err := s.viewMail(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		key := t.ids.Get([]byte(id))
		if key == nil {
			return nil
		}
		var err error
		rec, found, err = getRecord(t.messages, key)
		seq = seqOf(key)
		if err != nil || !found || rec.Channel == "" {
			return err
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
	if !found || name == "" || (rec.From != name && rec.To != name && !reader) {
		return ipcmesh.Message{}, "", notFound
	}
	m := rec.message(seq, s.largeDir)
	if rec.File == "" {
		return m, rec.Content, nil
	}
	body, err := s.readSpilled(rec.File)
	if err != nil {
		return ipcmesh.Message{}, "", ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"the body of message %q is missing from %s (%v): it may have been deleted by hand", id, s.largeDir, err)
	}
	return m, body, nil
}
