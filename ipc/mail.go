package ipc

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// MaxWait caps the wait of one check or wait_reply; clients wait longer
// by asking again.
const MaxWait = 10 * time.Minute

// WaitOf is the wait a request's wait_ms asks of the broker: at most
// MaxWait, and none for 0 or less. It caps the milliseconds before they
// become nanoseconds: 2^62 ms made a Duration that wrapped around to 0,
// and a check asked to wait "for ever" did not wait at all.
func WaitOf(ms int64) time.Duration {
	return time.Duration(min(max(ms, 0), MaxWait.Milliseconds())) * time.Millisecond
}

// send stores one message (committed with fsync before the answer) and then
// pushes it to the recipient's connections, or, for a "#channel", to every
// member's. The sender is the connection's name: a request has no field to
// claim another.
func (b *Broker) send(c *conn, name string, body json.RawMessage) (any, error) {
	var req SendRequest
	if err := decode(OpSend, body, &req); err != nil {
		return nil, err
	}
	if err := ValidateID("message id", req.ID); err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateType(req.Type); err != nil {
		return nil, err
	}
	if req.Shared != "" {
		if err := ipcmesh.ValidateSharedKey(req.Shared); err != nil {
			return nil, err
		}
	}
	if strings.HasPrefix(strings.TrimSpace(req.To), "#") {
		return b.post(c, name, req)
	}
	if err := b.recipient(req.To); err != nil {
		return nil, err
	}
	if ipcmesh.Blank(req.Content) {
		return nil, ipcmesh.CheckContent(fmt.Sprintf("the message to %q", req.To), req.Content)
	}
	if req.ReplyTo != "" {
		if _, err := b.readable(c.ctx, name, req.ReplyTo); err != nil {
			return nil, err
		}
	}
	// The recipient is pushed the message while its commit is in flight;
	// the sender is answered once it is on disk. A duplicate (a retry after
	// a failover) is pushed again: the first push may have died with the
	// previous broker, and recipients drop ids they have seen.
	var online bool
	draft := store.Draft{ID: req.ID, From: name, To: req.To, Content: req.Content, Type: req.Type, ReplyTo: req.ReplyTo, Shared: req.Shared}
	ds, err := b.store.AppendEarly(c.ctx, []store.Draft{draft},
		func(ds []store.Delivery) {
			if ds[0].Err == nil {
				online = b.push(ds[0].Message)
			}
		})
	if err != nil {
		return nil, err
	}
	d := ds[0]
	if d.Err != nil {
		return nil, d.Err
	}
	b.presence.notify(d.Message.To)
	if d.Message.Thread != "" {
		b.presence.notifyThread(d.Message.Thread)
	}
	res := &SendResult{
		Message:   d.Message,
		Queued:    d.Queued,
		Forwarded: d.Forwarded,
		Duplicate: d.Duplicate,
	}
	if d.Queued {
		res.QueueDays = int(b.store.Options().QueueRetention / (24 * time.Hour))
		if names, err := b.store.Names(); err == nil {
			names = slices.DeleteFunc(names, func(n string) bool { return n == name })
			res.Suggestions = ipcmesh.NearNames(d.Message.To, names, 3)
		}
	}
	res.Online = online
	return res, nil
}

// post stores a message to a channel and pushes it to every member but the
// sender, as send does for one recipient. Anyone may post to a public
// channel; only members to a private one, which to anyone else is as
// unknown as a channel that does not exist.
func (b *Broker) post(c *conn, name string, req SendRequest) (any, error) {
	ch, err := b.channelFor(c.ctx, name, req.To)
	if err != nil {
		return nil, err
	}
	if ipcmesh.Blank(req.Content) {
		return nil, ipcmesh.CheckContent("the post to #"+ch.Name, req.Content)
	}
	if req.ReplyTo != "" {
		if _, err := b.readable(c.ctx, name, req.ReplyTo); err != nil {
			return nil, err
		}
	}
	members := slices.DeleteFunc(slices.Clone(ch.Members), func(n string) bool { return n == name })
	var online bool
	draft := store.Draft{ID: req.ID, From: name, To: "#" + ch.Name, Channel: ch.Name, Content: req.Content, Type: req.Type, ReplyTo: req.ReplyTo, Shared: req.Shared}
	ds, err := b.store.AppendEarly(c.ctx, []store.Draft{draft},
		func(ds []store.Delivery) {
			if ds[0].Err == nil {
				for _, m := range members {
					for _, s := range b.presence.subscribers(m) {
						s.event(EventMessage, ds[0].Message)
					}
					online = b.online(m) || online
				}
			}
		})
	if err != nil {
		return nil, err
	}
	d := ds[0]
	if d.Err != nil {
		return nil, d.Err
	}
	for _, m := range members {
		b.presence.notify(m)
	}
	if d.Message.Thread != "" {
		b.presence.notifyThread(d.Message.Thread)
	}
	return &SendResult{
		Message:   d.Message,
		Online:    online,
		Duplicate: d.Duplicate,
		Channel:   ch.Name,
		Members:   len(members),
	}, nil
}

// broadcast stores one copy per registered instance but the sender.
func (b *Broker) broadcast(c *conn, name string, body json.RawMessage) (any, error) {
	var req BroadcastRequest
	if err := decode(OpBroadcast, body, &req); err != nil {
		return nil, err
	}
	if err := ValidateID("message id", req.ID); err != nil {
		return nil, err
	}
	if err := ipcmesh.CheckContent("the broadcast", req.Content); err != nil {
		return nil, err
	}
	if max := b.store.Options().MaxMessageBytes; len(req.Content) > max {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the broadcast is %d bytes, over the limit of %d bytes: shorten it or split it", len(req.Content), max)
	}
	names, err := b.store.SessionNames()
	if err != nil {
		return nil, err
	}
	// A broadcast sent again with its id stores nothing for those who
	// have their copy. A copy's id names the recipient it went to, so the
	// store's dedup by id finds each but those renamed since: asked by
	// the name that has each copy now, they are not sent a second.
	copies, err := b.store.BroadcastCopies(req.ID)
	if err != nil {
		return nil, err
	}
	res := &BroadcastResult{Recipients: []string{}}
	seen := map[string]bool{name: true}
	var drafts []store.Draft
	add := func(n string) {
		if seen[n] {
			return
		}
		seen[n] = true
		id := req.ID + "." + n
		if m, ok := copies[n]; ok && m.From == name && m.ID != id {
			res.Recipients = append(res.Recipients, n)
			res.Duplicate = append(res.Duplicate, n)
			if b.online(n) {
				res.Online = append(res.Online, n)
			}
			return
		}
		drafts = append(drafts, store.Draft{ID: id, From: name, To: n, Content: req.Content, Broadcast: true})
	}
	for _, n := range names {
		add(n)
	}
	for _, n := range b.onlineNames() {
		add(n)
	}
	if len(drafts) == 0 {
		return res, nil
	}
	online := make([]bool, len(drafts))
	ds, err := b.store.AppendEarly(c.ctx, drafts, func(ds []store.Delivery) {
		for i, d := range ds {
			if d.Err == nil {
				online[i] = b.push(d.Message)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for i, d := range ds {
		if d.Err != nil {
			if res.Failed == nil {
				res.Failed = make(map[string]string)
			}
			res.Failed[drafts[i].To] = d.Err.Error()
			continue
		}
		b.presence.notify(d.Message.To)
		res.Recipients = append(res.Recipients, d.Message.To)
		if online[i] {
			res.Online = append(res.Online, d.Message.To)
		}
		if d.Duplicate {
			res.Duplicate = append(res.Duplicate, d.Message.To)
		}
	}
	return res, nil
}

// push sends a message to its recipient's subscribed connections and
// reports whether the recipient is online. It runs inside the commit, so it
// only queues frames. Waiting checks are woken by the caller after the
// commit instead: they read the store, which shows the message only then.
func (b *Broker) push(m ipcmesh.Message) bool {
	for _, s := range b.presence.subscribers(m.To) {
		s.event(EventMessage, m)
	}
	return b.online(m.To)
}

// check returns unread mail, oldest first, waiting for some if asked.
// Nothing is marked read here: the reader acks once it has the messages.
// The name the request came with is not used: the connection's name is read
// anew on every round of the wait.
func (b *Broker) check(ctx context.Context, c *conn, _ string, body json.RawMessage) (any, error) {
	var req CheckRequest
	if err := decode(OpCheck, body, &req); err != nil {
		return nil, err
	}
	if req.From != "" {
		if err := ipcmesh.ValidateName(req.From); err != nil {
			return nil, err
		}
	}
	limit := req.Limit
	switch {
	case limit <= 0:
		limit = DefaultCheckLimit
	case limit > MaxCheckLimit:
		limit = MaxCheckLimit
	}
	wait := WaitOf(req.WaitMS)
	deadline := time.Now().Add(wait)
	for {
		// A rename on another connection may have moved this one, and an
		// unregister may have ended its session: a waiting check follows
		// the first and ends with the second, before the name's next
		// holder gets any mail.
		name := b.presence.nameOf(c)
		if name == "" {
			return nil, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "this connection's session ended while it waited (unregistered): register again")
		}
		mail, release := b.presence.mailbox(name)
		msgs, err := b.store.UnreadAfter(name, req.From, req.After, limit)
		if err != nil {
			release()
			return nil, err
		}
		left := time.Until(deadline)
		if len(msgs) > 0 || left <= 0 {
			release()
			msgs = fitBudget(msgs)
			res := &CheckResult{Messages: msgs}
			if res.Messages == nil {
				res.Messages = []ipcmesh.Message{}
			}
			if len(msgs) > 0 {
				n, err := b.store.UnreadCount(name)
				if err == nil {
					res.Remaining = max(n-len(msgs), 0)
				}
			}
			return res, nil
		}
		_, aborted := b.presence.waitFor(ctx, mail, left, b.quit)
		release()
		if aborted && c.calledOff(ctx) {
			deadline = time.Now()
		} else if aborted {
			return nil, errNoReply
		}
	}
}

// checkBudget bounds the content one check returns, so that a page of
// messages always fits a frame: past it the rest waits for the next check.
const checkBudget = 1 << 20

// fitBudget keeps the oldest messages whose content fits checkBudget, and
// always at least one.
func fitBudget(msgs []ipcmesh.Message) []ipcmesh.Message {
	total := 0
	for i, m := range msgs {
		total += len(m.Content)
		if total > checkBudget && i > 0 {
			return msgs[:i]
		}
	}
	return msgs
}

// ack marks messages read. Acking is idempotent, so a retried ack is fine.
func (b *Broker) ack(c *conn, name string, body json.RawMessage) (any, error) {
	var req AckRequest
	if err := decode(OpAck, body, &req); err != nil {
		return nil, err
	}
	if len(req.IDs) > 10000 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "ack takes at most 10000 ids at once, got %d: ack in pages", len(req.IDs))
	}
	for _, id := range req.IDs {
		if len(id) > 200 {
			return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "message id %q is too long to be one", truncate(id, 70))
		}
	}
	n, err := b.store.Ack(c.ctx, name, req.IDs)
	if err != nil {
		return nil, err
	}
	return &AckResult{Acked: n}, nil
}

// fetch returns one message with its whole body, to its sender or
// recipient only, or for a channel post to whoever may read the channel
// (the store applies the same rules as the broker's reader).
func (b *Broker) fetch(c *conn, name string, body json.RawMessage) (any, error) {
	var req FetchRequest
	if err := decode(OpFetch, body, &req); err != nil {
		return nil, err
	}
	if req.ID == "" || len(req.ID) > 200 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "fetch needs the id of a message")
	}
	m, content, err := b.store.Get(name, req.ID)
	if err != nil {
		return nil, err
	}
	res := &FetchResult{Message: m, Content: content}
	res.cut(req.Part)
	return res, nil
}
