package ipc

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// history reads a conversation, a channel or a thread.
func (b *Broker) history(c *conn, name string, body json.RawMessage) (any, error) {
	var req HistoryRequest
	if err := decode(OpHistory, body, &req); err != nil {
		return nil, err
	}
	n := 0
	for _, s := range []string{req.With, req.Channel, req.Thread} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "history needs exactly one of with (an instance name), channel (a channel name) or thread (a message id)")
	}
	if err := checkTimes(req.Since, req.Until); err != nil {
		return nil, err
	}
	if req.After > 0 && req.Thread == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "after reads on in a thread: give thread too (for a conversation or a channel, page back with before)")
	}
	page := store.Page{Before: req.Before, Limit: req.Limit, Since: req.Since, Until: req.Until}
	var (
		msgs []ipcmesh.Message
		more bool
		with string
		err  error
	)
	switch {
	case req.With != "":
		if err := ipcmesh.ValidateName(req.With); err != nil {
			return nil, err
		}
		// A rename moves the conversation to the new name: asked for
		// by the old one, while mail to it is still forwarded, it is
		// the conversation with the name that mail reaches.
		if with, err = b.store.Resolve(req.With); err != nil {
			return nil, err
		}
		msgs, more, err = b.store.Conversation(name, with, page)
	case req.Channel != "":
		ch, cerr := b.channelFor(c.ctx, name, req.Channel)
		if cerr != nil {
			return nil, cerr
		}
		msgs, more, err = b.store.ChannelHistory(ch.Name, page)
	default:
		msgs, more, err = b.threadPage(c.ctx, name, req)
	}
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []ipcmesh.Message{}
	}
	r := &HistoryResult{Messages: msgs, More: more}
	if with != req.With {
		r.With = with
	}
	return r, nil
}

// threadPage reads one page of the thread of req.Thread, oldest first, as
// name may read it. It reads the thread a chunk at a time from req.After
// on and stops as soon as the page is full, by count or by the size of its
// texts, with one message to spare to tell whether more follow, or at the
// thread's end. So a page costs its own length, plus whatever the filters
// drop from it, however long the thread is: reading a long thread page by
// page costs the thread once.
func (b *Broker) threadPage(ctx context.Context, name string, req HistoryRequest) ([]ipcmesh.Message, bool, error) {
	m, err := b.readable(ctx, name, req.Thread)
	if err != nil {
		return nil, false, err
	}
	r := b.reader(name)
	if root := threadOf(m); root != m.ID {
		// The thread is read by whoever may read its first message
		// (while that is kept).
		first, found, err := b.store.Lookup(root)
		if err != nil {
			return nil, false, err
		}
		if found {
			ok, err := r.may(first)
			if err != nil {
				return nil, false, err
			}
			if !ok {
				return nil, false, b.unreadable(name, req.Thread)
			}
		}
	}
	limit := req.Limit
	if limit <= 0 || limit > store.MaxHistoryLimit {
		limit = store.MaxHistoryLimit
	}
	outside := func(m ipcmesh.Message) bool {
		return !req.Since.IsZero() && m.Time.Before(req.Since) || !req.Until.IsZero() && m.Time.After(req.Until)
	}
	var page []ipcmesh.Message
	for after, chunk := req.After, limit+1; ; {
		msgs, err := b.store.Thread(m.ID, after, chunk)
		if err != nil {
			return nil, false, err
		}
		ended := len(msgs) < chunk
		if len(msgs) > 0 {
			after = msgs[len(msgs)-1].Seq
		}
		// A direct reply between two others in a channel's thread is
		// theirs alone.
		msgs, err = r.filter(msgs)
		if err != nil {
			return nil, false, err
		}
		page = append(page, slices.DeleteFunc(msgs, outside)...)
		// Past a full page, what follows changes neither the page nor more.
		if ended || len(page) > limit || len(fitBudget(page)) < len(page) {
			break
		}
	}
	n := len(page)
	page = fitBudget(page[:min(n, limit)])
	return page, len(page) < n, nil
}

// checkTimes refuses a time window that ends before it begins.
func checkTimes(since, until time.Time) error {
	if !since.IsZero() && !until.IsZero() && until.Before(since) {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "until (%s) is before since (%s): swap them", until.Format(time.RFC3339), since.Format(time.RFC3339))
	}
	return nil
}

// waitReply waits for new messages in a thread. It is event driven: every
// message stored with a thread wakes that thread's waiters after its
// commit.
func (b *Broker) waitReply(ctx context.Context, c *conn, name string, body json.RawMessage) (any, error) {
	var req WaitReplyRequest
	if err := decode(OpWaitReply, body, &req); err != nil {
		return nil, err
	}
	m, err := b.readable(c.ctx, name, req.ID)
	if err != nil {
		return nil, err
	}
	thread := threadOf(m)
	after := req.After
	if after == 0 {
		// New means newer than the thread's newest message right now.
		last, err := b.store.ThreadLast(thread)
		if err != nil {
			return nil, err
		}
		after = max(m.Seq, last)
	}
	wait := WaitOf(req.WaitMS)
	deadline := time.Now().Add(wait)
	for {
		if name = b.presence.nameOf(c); name == "" {
			return nil, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "this connection's session ended while it waited (unregistered): register again")
		}
		woke, release := b.presence.threadWaiter(thread)
		// One message past a page tells whether the page was cut.
		msgs, err := b.store.ThreadAfter(thread, after, store.MaxHistoryLimit+1)
		if err != nil {
			release()
			return nil, err
		}
		// A page, as a thread's history gives: Last then says where the
		// next wait reads on.
		n := len(msgs)
		msgs = fitBudget(msgs[:min(n, store.MaxHistoryLimit)])
		cut := len(msgs) < n
		for _, l := range msgs {
			after = max(after, l.Seq)
		}
		msgs, err = b.reader(name).filter(msgs)
		if err != nil {
			release()
			return nil, err
		}
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			release()
			res := &WaitReplyResult{Messages: msgs, Last: after}
			for _, l := range msgs {
				if l.Type == ipcmesh.TypeDone {
					res.Done = true
				}
			}
			return res, nil
		}
		if cut {
			release() // none of this page was the caller's to read: read on
			continue
		}
		_, aborted := b.presence.waitFor(ctx, woke, left, b.quit)
		release()
		if aborted && c.calledOff(ctx) {
			deadline = time.Now()
		} else if aborted {
			return nil, errNoReply
		}
	}
}

// ThreadWaiters reports how many wait_reply requests are waiting right now.
// It lets a test (and a curious operator) see that a wait is in place
// before it sends the reply the wait is for.
func (b *Broker) ThreadWaiters() int { return b.presence.threadWaiting() }
