package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
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
// call (context, disk), and then nothing was written, unless it says the
// drafts may be stored all the same (a disk that failed during or after
// their commit): sent again with the same ids, they are stored once.
func (s *Store) Append(ctx context.Context, drafts []Draft) ([]Delivery, error) {
	return s.AppendEarly(ctx, drafts, nil)
}

// AppendEarly is Append that also calls early with the deliveries as soon as
// they are decided, before they are on disk. When the
// drafts are committed alone, the store's one writer runs early itself, at
// once; in a batch with other writes, early runs in the caller's goroutine,
// so that the writer goes on writing (see committer.submitEarly); early
// must therefore be quick and never wait on a write. The broker
// uses it to push a message to its recipient while the disk catches up: the
// sender is still answered only once the message is durable, and a read of
// mail (Unread, Lookup, the histories, Search) made after the push waits for
// the commit, so it finds the message. If the commit fails after early ran,
// early announced messages that were not stored; their sender gets the error
// and retries with the same ids.
func (s *Store) AppendEarly(ctx context.Context, drafts []Draft, early func([]Delivery)) ([]Delivery, error) {
	return s.appendEarly(ctx, drafts, early, s.Limits())
}

// AppendWithin is Append that decides the drafts by lim, not by the store's
// own limits; a zero field of lim is the store's own.
func (s *Store) AppendWithin(ctx context.Context, drafts []Draft, lim Limits) ([]Delivery, error) {
	return s.appendEarly(ctx, drafts, nil, lim.or(s.Limits()))
}

func (s *Store) appendEarly(ctx context.Context, drafts []Draft, early func([]Delivery), lim Limits) ([]Delivery, error) {
	if len(drafts) == 0 {
		return nil, ctx.Err()
	}
	out := make([]Delivery, len(drafts))
	refused := make([]error, len(drafts))
	files := make([]string, len(drafts))
	for i, d := range drafts {
		if refused[i] = checkDraft(d, lim.MaxMessageBytes); refused[i] != nil {
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
	// Sends without large bodies can be acked once the journal has them
	// (see journal.go); a large body's file is one more thing to replay,
	// so those take bbolt's own syncs. The write fills the entry in.
	var entry *journalEntry
	if !slices.ContainsFunc(files, func(f string) bool { return f != "" }) {
		entry = &journalEntry{}
	}
	err := s.c.submitJournaled(ctx, func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		now := s.now()
		if entry != nil {
			entry.Now, entry.Drafts = now.UnixNano(), nil
		}
		for i, d := range drafts {
			if refused[i] != nil {
				out[i] = Delivery{Err: refused[i]}
				continue
			}
			dl, err := s.appendTx(t, d, files[i], now, lim.InboxCap)
			if err != nil {
				return err
			}
			out[i] = dl
			// The journal records only the drafts stored: the replay
			// applies no inbox cap, so a draft refused here (inbox_full
			// above all) would be stored by it after a crash, though its
			// sender was told it was not. A duplicate is left out too: it
			// writes nothing, and its replay would write nothing either.
			if entry != nil && dl.Err == nil && !dl.Duplicate {
				entry.Drafts = append(entry.Drafts, d)
			}
		}
		return nil
	}, announce, entry)
	if err != nil {
		// Drafts that may be stored all the same keep their files: which
		// of them the writes name is not known for sure, and a file no
		// record names in the end is an orphan for the sweep.
		if !mayBeStored(err) {
			s.removeSpilled(files...)
		}
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

// Check refuses what a store deciding by l would refuse of d without
// reading its database: a bad id or name, a body over MaxMessageBytes. A
// writer to a shared log checks its drafts before they go into the log,
// which keeps them for every view to read.
func (l Limits) Check(d Draft) error { return checkDraft(d, l.MaxMessageBytes) }

// checkDraft refuses what can be refused without the database, a body
// over maxBytes among it.
func checkDraft(d Draft, maxBytes int) error {
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
	if len(d.Content) > maxBytes {
		to := d.To
		if d.Channel != "" {
			to = "#" + d.Channel
		}
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge,
			"message %s to %s is %d bytes, over the limit of %d bytes: shorten it or split it into several messages",
			d.ID, to, len(d.Content), maxBytes)
	}
	return nil
}

// appendTx stores one draft whose body, if large, is already in file,
// refusing it with inbox_full when its recipient has inboxCap unread.
func (s *Store) appendTx(t *tables, d Draft, file string, now time.Time, inboxCap int) (Delivery, error) {
	if key := t.ids().Get([]byte(d.ID)); key != nil {
		rec, ok, err := getRecord(t.messages(), key)
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
		pkey := t.ids().Get([]byte(d.ReplyTo))
		if pkey == nil {
			return Delivery{Err: ipcmesh.Errorf(ipcmesh.CodeNotFound,
				"message %q that this one replies to does not exist: check reply_to (read messages are kept %s)",
				d.ReplyTo, human.Period(s.opts.HistoryRetention))}, nil
		}
		parent, ok, err := getRecord(t.messages(), pkey)
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

	chain, err := forwardChain(t.forwards(), d.To, now)
	if isRefusal(err) {
		return Delivery{Err: err}, nil
	}
	if err != nil {
		return Delivery{}, err
	}
	to := chain[len(chain)-1]
	if to == d.From && to != d.To && !d.Broadcast {
		return Delivery{Err: formerSelf(d.To, d.From)}, nil
	}
	if n := count(t.unread(), to); n >= inboxCap {
		return Delivery{Err: ipcmesh.Errorf(ipcmesh.CodeInboxFull,
			"the inbox of %s is full: %d messages are waiting unread (the cap is %d); %s must read (check) some before more can be delivered",
			to, n, inboxCap, to)}, nil
	}

	seq, err := t.messages().NextSequence()
	if err != nil {
		return Delivery{}, err
	}
	rec.To = to
	if to != d.To {
		rec.SentTo = d.To
	}
	queued := t.instances().Get([]byte(to)) == nil
	if err := storeMessage(t, seq, &rec, queued); err != nil {
		return Delivery{}, err
	}
	return Delivery{
		Message:   rec.message(seq, s.largeDir),
		Forwarded: to != d.To,
		Queued:    queued,
	}, nil
}

// formerSelf refuses a message from name to one of its own former names.
// The rename forwards would bring it back to name's own inbox, to be read
// as if someone else had sent it, while its sender, writing a name not its
// own, meant someone else. A message to one's current name is stored:
// that one is sent on purpose. Decided here, where the send resolves its
// recipient anyway, it costs no read of its own: a read before the send
// would commit the batch the send could have joined.
func formerSelf(to, name string) error {
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest,
		"%s is your own former name (you are %s now): mail to %s is forwarded to you for a while after a rename, so this message would only reach your own inbox; nothing was sent. Send it to another instance's current name",
		to, name, to)
}

// postTx stores a channel post: once, under its seq, in the channel's log
// and its expiry index; never in an inbox. Members read it through their
// cursors.
func (s *Store) postTx(t *tables, d Draft, rec record) (Delivery, error) {
	ch := d.Channel
	if t.channels().Get([]byte(ch)) == nil {
		return Delivery{Err: channelNotFound(ch)}, nil
	}
	seq, err := t.messages().NextSequence()
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
	if err := putMessage(t, seq, &rec,
		bucketPut{t.channelLog(), withSeq(chanPrefix(ch), seq), []byte(rec.From)},
		bucketPut{t.channelExpiry(), timeKey(rec.Time, key), nil},
		bucketPut{t.channelStats(), []byte(ch), st.marshal()},
	); err != nil {
		return Delivery{}, err
	}
	return Delivery{Message: rec.message(seq, s.largeDir)}, nil
}

// storeMessage writes a new direct message and every index and counter it
// touches.
func storeMessage(t *tables, seq uint64, rec *record, queued bool) error {
	key := seqKey(seq)
	inbox, err := t.inboxes().CreateBucketIfNotExists([]byte(rec.To))
	if err != nil {
		return err
	}
	if err := putMessage(t, seq, rec,
		bucketPut{inbox, key, []byte(rec.ID)},
		bucketPut{t.conversations(), withSeq(convPrefix(rec.From, rec.To), seq), nil},
	); err != nil {
		return err
	}
	if queued {
		if err := t.queued().Put(timeKey(rec.Time, key), nil); err != nil {
			return err
		}
	}
	if err := addCount(t.unread(), rec.To, 1); err != nil {
		return err
	}
	return addCount(t.meta(), countUnread, 1)
}

// bucketPut is one write of v under k in b.
type bucketPut struct {
	b    *bolt.Bucket
	k, v []byte
}

// putMessage writes what every new message has: its record under seq, its
// id, the writes of puts (the indexes of its kind of message), its thread
// entry and its count.
func putMessage(t *tables, seq uint64, rec *record, puts ...bucketPut) error {
	key := seqKey(seq)
	puts = append([]bucketPut{
		{t.messages(), key, rec.marshal()},
		{t.ids(), []byte(rec.ID), key},
	}, puts...)
	for _, p := range puts {
		if err := p.b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	if rec.Thread != "" {
		if err := t.threads().Put(withSeq(threadPrefix(rec.Thread), seq), nil); err != nil {
			return err
		}
	}
	return addCount(t.meta(), countMessages, 1)
}
