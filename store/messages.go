package store

import (
	"bytes"
	"context"
	"fmt"
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
// they are decided inside the commit, before the commit's fsync. The broker
// uses it to push a message to its recipient while the disk catches up: the
// sender is still answered only once the message is durable. If the commit
// fails after early ran, early announced messages that were not stored;
// their sender gets the error and retries with the same ids.
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

	var written func()
	if early != nil {
		written = func() { early(out) }
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
	}, written)
	if err != nil {
		s.removeSpilled(files...)
		return nil, wrapFault("append", err)
	}
	for i, dl := range out {
		if dl.Err != nil || dl.Duplicate {
			s.removeSpilled(files[i])
		}
	}
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
	if err := ipcmesh.ValidateName(d.To); err != nil {
		return ipcmesh.Errorf(ipcmesh.CodeInvalidName, "recipient: %v", err)
	}
	if len(d.Content) > s.opts.MaxMessageBytes {
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
			"message %s to %s is %d bytes, over the limit of %d bytes: shorten it or split it into several messages",
			d.ID, d.To, len(d.Content), s.opts.MaxMessageBytes)
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
	rec := record{
		ID:        d.ID,
		From:      d.From,
		To:        to,
		Time:      time.Unix(0, now.UnixNano()).UTC(),
		Broadcast: d.Broadcast,
		Content:   d.Content,
		Size:      len(d.Content),
		File:      file,
	}
	if to != d.To {
		rec.SentTo = d.To
	}
	if file != "" {
		rec.Content = summarize(d.Content)
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

// storeMessage writes a new message and every index and counter it touches.
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
	} {
		if err := put.b.Put(put.k, put.v); err != nil {
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

// Unread returns up to limit unread messages of name, oldest first
// (limit <= 0 means 100). It reads only the inbox, never the history.
func (s *Store) Unread(name string, limit int) ([]ipcmesh.Message, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	var out []ipcmesh.Message
	err := s.db.View(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		inbox := t.inboxes.Bucket([]byte(name))
		if inbox == nil {
			return nil
		}
		c := inbox.Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			rec, ok, err := getRecord(t.messages, k)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("inbox entry %x has no message", k)
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

// UnreadCount returns how many messages wait in name's inbox.
func (s *Store) UnreadCount(name string) (int, error) {
	var n int
	err := s.db.View(func(tx *bolt.Tx) error {
		n = count(tablesOf(tx).unread, name)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("unread count of %s: %w", name, err)
	}
	return n, nil
}

// Ack removes ids from name's inbox and starts their history retention
// clock. Ids that are unknown, already acked or not in name's inbox are
// ignored, so a retried ack is harmless. It returns how many were removed.
func (s *Store) Ack(ctx context.Context, name string, ids []string) (int, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return 0, err
	}
	var n int
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		n = 0
		t := tablesOf(tx)
		inbox := t.inboxes.Bucket([]byte(name))
		if inbox == nil {
			return nil
		}
		now := s.now()
		for _, id := range ids {
			key := bytes.Clone(t.ids.Get([]byte(id)))
			if key == nil || inbox.Get(key) == nil {
				continue
			}
			if err := inbox.Delete(key); err != nil {
				return err
			}
			if err := t.history.Put(timeKey(now, key), nil); err != nil {
				return err
			}
			n++
		}
		if err := addCount(t.unread, name, -n); err != nil {
			return err
		}
		return addCount(t.meta, countUnread, -n)
	})
	if err != nil {
		return 0, wrapFault("ack for "+name, err)
	}
	return n, nil
}

// Get returns a message and its whole body (read from its file when it is
// large) if name sent or received it, read or not. Anyone else gets the same
// not_found as for an id that does not exist, so it learns nothing.
func (s *Store) Get(name, id string) (ipcmesh.Message, string, error) {
	notFound := ipcmesh.Errorf(ipcmesh.CodeNotFound,
		"%s has no message with id %q: check the id (read messages are kept %s)", name, id, humanDuration(s.opts.HistoryRetention))
	var (
		rec   record
		found bool
		seq   uint64
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		key := t.ids.Get([]byte(id))
		if key == nil {
			return nil
		}
		var err error
		rec, found, err = getRecord(t.messages, key)
		seq = seqOf(key)
		return err
	})
	if err != nil {
		return ipcmesh.Message{}, "", fmt.Errorf("get message %q: %w", id, err)
	}
	if !found || name == "" || (rec.From != name && rec.To != name) {
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
