package ipc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// Access rules, in one place: a direct message is read by its sender and
// its recipient; a channel post by anyone if the channel is public, by its
// members if it is private. A private channel is, to anyone outside it, as
// unknown as a channel that does not exist: every refusal says not_found
// with the same words, and no list shows it.

// isMember reports whether name is one of ch's members.
func isMember(ch ipcmesh.Channel, name string) bool {
	return slices.Contains(ch.Members, name)
}

// mayRead reports whether name may read (and post to) ch.
func mayRead(ch ipcmesh.Channel, name string) bool {
	return !ch.Private || isMember(ch, name)
}

// channelFor normalises what the caller typed for a channel and returns
// the channel if the caller may read it, else not_found.
func (b *Broker) channelFor(name, typed string) (ipcmesh.Channel, error) {
	norm, err := ipcmesh.NormalizeChannel(typed)
	if err != nil {
		return ipcmesh.Channel{}, err
	}
	ch, ok, err := b.store.Channel(norm)
	if err != nil {
		return ipcmesh.Channel{}, err
	}
	if !ok || !mayRead(ch, name) {
		return ipcmesh.Channel{}, b.noChannel(name, norm)
	}
	return ch, nil
}

// noChannel is the not_found for a channel the caller cannot see, with the
// channels it can see whose names are close.
func (b *Broker) noChannel(name, channel string) error {
	var near []string
	if chans, err := b.store.Channels(); err == nil {
		var names []string
		for _, ch := range b.visible(chans, name) {
			names = append(names, ch.Name)
		}
		for _, n := range ipcmesh.NearNames(channel, names, 3) {
			near = append(near, "#"+n)
		}
	}
	msg := fmt.Sprintf("no channel #%s: list the channels with channel_list, or create it with channel_create", channel)
	if len(near) > 0 {
		msg = fmt.Sprintf("no channel #%s; did you mean %s? (channel_list lists the channels)", channel, strings.Join(near, ", "))
	}
	return &ipcmesh.Error{Code: ipcmesh.CodeNotFound, Message: msg, Suggestions: near}
}

// visible keeps the channels name may see: public ones and private ones it
// is a member of.
func (b *Broker) visible(chans []ipcmesh.Channel, name string) []ipcmesh.Channel {
	out := make([]ipcmesh.Channel, 0, len(chans))
	for _, ch := range chans {
		if mayRead(ch, name) {
			out = append(out, ch)
		}
	}
	return out
}

// reader decides which messages one caller may read, looking each channel
// up once.
type reader struct {
	b     *Broker
	name  string
	chans map[string]bool
}

func (b *Broker) reader(name string) *reader {
	return &reader{b: b, name: name, chans: make(map[string]bool)}
}

func (r *reader) may(m ipcmesh.Message) (bool, error) {
	if m.Channel == "" {
		return r.name != "" && (m.From == r.name || m.To == r.name), nil
	}
	ok, seen := r.chans[m.Channel]
	if !seen {
		ch, found, err := r.b.store.Channel(m.Channel)
		if err != nil {
			return false, err
		}
		ok = found && mayRead(ch, r.name)
		r.chans[m.Channel] = ok
	}
	return ok, nil
}

// filter keeps the messages the caller may read.
func (r *reader) filter(msgs []ipcmesh.Message) ([]ipcmesh.Message, error) {
	out := make([]ipcmesh.Message, 0, len(msgs))
	for _, m := range msgs {
		ok, err := r.may(m)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, m)
		}
	}
	return out, nil
}

// readable returns the message id if name may read it, else the same
// not_found as for an id that does not exist.
func (b *Broker) readable(name, id string) (ipcmesh.Message, error) {
	if id == "" || len(id) > 200 {
		return ipcmesh.Message{}, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a message id is required (at most 200 characters): use the id from send, check or history")
	}
	m, found, err := b.store.Lookup(id)
	if err != nil {
		return ipcmesh.Message{}, err
	}
	if found {
		ok, err := b.reader(name).may(m)
		if err != nil {
			return ipcmesh.Message{}, err
		}
		if ok {
			return m, nil
		}
	}
	return ipcmesh.Message{}, b.unreadable(name, id)
}

// unreadable is the not_found for a message name may not read, the same
// whether it exists or not.
func (b *Broker) unreadable(name, id string) error {
	return ipcmesh.Errorf(ipcmesh.CodeNotFound,
		"%s may read no message with id %q: check the id (history and check show ids; read messages are kept %d days)",
		name, truncate(id, 70), int(b.store.Options().HistoryRetention/(24*time.Hour)))
}

// threadOf is the id of the thread m belongs to: its first message's.
func threadOf(m ipcmesh.Message) string {
	if m.Thread != "" {
		return m.Thread
	}
	return m.ID
}

// checkMembers validates and dedupes names given for a channel.
func checkMembers(names []string) ([]string, error) {
	if len(names) > MaxMembers {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "%d members at once is over the limit of %d: add them in parts", len(names), MaxMembers)
	}
	var out []string
	for _, n := range names {
		if err := ipcmesh.ValidateName(n); err != nil {
			return nil, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "member: %v", err)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func checkDescription(what, s string) error {
	if len(s) > MaxDescription {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the %s is %d bytes, over the limit of %d: shorten it", what, len(s), MaxDescription)
	}
	return nil
}

// channelCreate makes a channel with the caller as its first member.
func (b *Broker) channelCreate(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelCreateRequest
	if err := decode(OpChannelCreate, body, &req); err != nil {
		return nil, err
	}
	norm, err := ipcmesh.NormalizeChannel(req.Name)
	if err != nil {
		return nil, err
	}
	if err := checkDescription("channel description", req.Description); err != nil {
		return nil, err
	}
	members, err := checkMembers(append([]string{name}, req.Members...))
	if err != nil {
		return nil, err
	}
	chans, err := b.store.Channels()
	if err != nil {
		return nil, err
	}
	ch, err := b.store.CreateChannel(c.ctx, ipcmesh.Channel{
		Name:        norm,
		Description: req.Description,
		Private:     req.Private,
		CreatedBy:   name,
		Members:     members,
	})
	if ipcmesh.CodeOf(err) == ipcmesh.CodeNameTaken {
		// The caller's own create again (a retry after a failover, or the
		// same command twice) is answered with the channel it made.
		if old, ok, lerr := b.store.Channel(norm); lerr == nil && ok && old.CreatedBy == name &&
			old.Private == req.Private && old.Description == req.Description && isMember(old, name) {
			return &ChannelResult{Channel: old}, nil
		}
		return nil, b.channelTaken(norm, chans)
	}
	if err != nil {
		return nil, err
	}
	res := &ChannelResult{Channel: ch}
	// A close name is most likely a typo or a duplicate: say so, naming
	// the closest channel the caller can see.
	best, bestD := "", 3
	for _, o := range b.visible(chans, name) {
		if o.Name == norm {
			continue
		}
		if d := ipcmesh.Distance(norm, o.Name); d < bestD {
			best, bestD = o.Name, d
		}
	}
	if best != "" {
		res.Warning = fmt.Sprintf("a channel #%s exists: did you mean it? (#%s was created all the same)", best, norm)
	}
	return res, nil
}

// channelTaken is the name_taken for a channel name, with free variants.
func (b *Broker) channelTaken(norm string, chans []ipcmesh.Channel) error {
	taken := make(map[string]bool, len(chans))
	for _, ch := range chans {
		taken[ch.Name] = true
	}
	free := ipcmesh.FreeVariants(norm, func(n string) bool { return taken[n] }, 3)
	msg := fmt.Sprintf("a channel #%s exists already: join it (channel_join) if it is public, or pick another name", norm)
	if len(free) > 0 {
		msg += fmt.Sprintf("; free names: %v", free)
	}
	return &ipcmesh.Error{Code: ipcmesh.CodeNameTaken, Message: msg, Suggestions: free}
}

// channelList lists the channels the caller may see, found by keyword.
func (b *Broker) channelList(_ *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelListRequest
	if err := decode(OpChannelList, body, &req); err != nil {
		return nil, err
	}
	chans, err := b.store.Channels()
	if err != nil {
		return nil, err
	}
	chans = b.visible(chans, name)
	var words []string
	for _, w := range strings.Fields(strings.ToLower(req.Query)) {
		if w = strings.TrimPrefix(w, "#"); w != "" {
			words = append(words, w)
		}
	}
	if len(words) > 0 {
		chans = slices.DeleteFunc(chans, func(ch ipcmesh.Channel) bool {
			text := ch.Name + "\n" + strings.ToLower(ch.Description)
			for _, w := range words {
				if strings.Contains(text, w) {
					return false
				}
			}
			return true
		})
	}
	return &ChannelListResult{Channels: chans}, nil
}

// channelJoin joins the caller to a public channel (with the members it
// names), or adds members to a private channel the caller is in.
func (b *Broker) channelJoin(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelJoinRequest
	if err := decode(OpChannelJoin, body, &req); err != nil {
		return nil, err
	}
	ch, err := b.channelFor(name, req.Name)
	if err != nil {
		return nil, err
	}
	add, err := checkMembers(req.Members)
	if err != nil {
		return nil, err
	}
	if !ch.Private {
		add = append([]string{name}, add...)
	}
	// Members already in are left alone: joining again must not move
	// their read cursor past posts they have not read.
	add = slices.DeleteFunc(add, func(n string) bool { return isMember(ch, n) })
	if len(add) == 0 {
		return &ChannelResult{Channel: ch}, nil
	}
	ch, err = b.store.JoinChannel(c.ctx, ch.Name, add)
	if err != nil {
		return nil, err
	}
	return &ChannelResult{Channel: ch}, nil
}

// channelLeave takes the caller out of a channel. Leaving a public channel
// one is not in does nothing.
func (b *Broker) channelLeave(c *conn, name string, body json.RawMessage) (any, error) {
	var req ChannelLeaveRequest
	if err := decode(OpChannelLeave, body, &req); err != nil {
		return nil, err
	}
	ch, err := b.channelFor(name, req.Name)
	if err != nil {
		return nil, err
	}
	if isMember(ch, name) {
		if err := b.store.LeaveChannel(c.ctx, ch.Name, name); err != nil {
			return nil, err
		}
	}
	return struct{}{}, nil
}

// history reads a conversation, a channel or a thread.
func (b *Broker) history(_ *conn, name string, body json.RawMessage) (any, error) {
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
	limit := req.Limit
	switch {
	case limit <= 0:
		limit = DefaultHistory
	case limit > MaxHistory:
		limit = MaxHistory
	}
	var (
		msgs []ipcmesh.Message
		more bool
		err  error
	)
	switch {
	case req.With != "":
		if err := ipcmesh.ValidateName(req.With); err != nil {
			return nil, err
		}
		msgs, more, err = b.store.Conversation(name, req.With, req.Before, limit)
	case req.Channel != "":
		ch, cerr := b.channelFor(name, req.Channel)
		if cerr != nil {
			return nil, cerr
		}
		msgs, more, err = b.store.ChannelHistory(ch.Name, req.Before, limit)
	default:
		m, rerr := b.readable(name, req.Thread)
		if rerr != nil {
			return nil, rerr
		}
		if root := threadOf(m); root != m.ID {
			// The thread is read by whoever may read its first message
			// (while that is kept).
			r, found, lerr := b.store.Lookup(root)
			if lerr != nil {
				return nil, lerr
			}
			if found {
				ok, rerr := b.reader(name).may(r)
				if rerr != nil {
					return nil, rerr
				}
				if !ok {
					return nil, b.unreadable(name, req.Thread)
				}
			}
		}
		msgs, err = b.store.Thread(m.ID)
		if err == nil {
			// A direct reply between two others in a channel's thread is
			// theirs alone.
			msgs, err = b.reader(name).filter(msgs)
		}
	}
	if err != nil {
		return nil, err
	}
	if msgs == nil {
		msgs = []ipcmesh.Message{}
	}
	return &HistoryResult{Messages: msgs, More: more}, nil
}

// waitReply waits for new messages in a thread. It is event driven: every
// message stored with a thread wakes that thread's waiters after its
// commit.
func (b *Broker) waitReply(c *conn, name string, body json.RawMessage) (any, error) {
	var req WaitReplyRequest
	if err := decode(OpWaitReply, body, &req); err != nil {
		return nil, err
	}
	m, err := b.readable(name, req.ID)
	if err != nil {
		return nil, err
	}
	thread := threadOf(m)
	after := req.After
	if after == 0 {
		// New means newer than the thread's newest message right now.
		after = m.Seq
		later, err := b.store.ThreadAfter(thread, m.Seq)
		if err != nil {
			return nil, err
		}
		for _, l := range later {
			after = max(after, l.Seq)
		}
	}
	wait := min(time.Duration(req.WaitMS)*time.Millisecond, maxWait)
	deadline := time.Now().Add(wait)
	for {
		if name = b.presence.nameOf(c); name == "" {
			return nil, ipcmesh.Errorf(ipcmesh.CodeNotRegistered, "this connection's session ended while it waited (unregistered): register again")
		}
		woke, release := b.presence.threadWaiter(thread)
		msgs, err := b.store.ThreadAfter(thread, after)
		if err != nil {
			release()
			return nil, err
		}
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
		_, aborted := waitFor(c.ctx, woke, left, b.quit)
		release()
		if aborted {
			return nil, errNoReply
		}
	}
}

// share stores content under a key.
func (b *Broker) share(c *conn, name string, body json.RawMessage) (any, error) {
	var req ShareRequest
	if err := decode(OpShare, body, &req); err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateSharedKey(req.Key); err != nil {
		return nil, err
	}
	if req.Content == "" {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "nothing to share under %q: give it some content", req.Key)
	}
	if max := b.store.Options().MaxMessageBytes; len(req.Content) > max {
		return nil, ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the content for %q is %d bytes, over the limit of %d bytes: shorten it or split it over several keys", req.Key, len(req.Content), max)
	}
	if err := checkDescription("description", req.Description); err != nil {
		return nil, err
	}
	sh, err := b.store.Share(c.ctx, ipcmesh.Shared{Key: req.Key, Description: req.Description, StoredBy: name, Content: req.Content})
	if err != nil {
		return nil, err
	}
	sh.Content = ""
	return &SharedResult{Shared: sh}, nil
}

// getShared returns the content under a key.
func (b *Broker) getShared(_ *conn, _ string, body json.RawMessage) (any, error) {
	var req GetSharedRequest
	if err := decode(OpGetShared, body, &req); err != nil {
		return nil, err
	}
	if err := ipcmesh.ValidateSharedKey(req.Key); err != nil {
		return nil, err
	}
	sh, err := b.store.GetShared(req.Key)
	if err != nil {
		return nil, err
	}
	return &SharedResult{Shared: sh}, nil
}

// listShared lists the shared keys without their content.
func (b *Broker) listShared(_ *conn, _ string, _ json.RawMessage) (any, error) {
	list, err := b.store.ListShared()
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []ipcmesh.Shared{}
	}
	for i := range list {
		list[i].Content = ""
	}
	return &ListSharedResult{Shared: list}, nil
}

// search finds words in the messages the caller may read: its direct mail
// and the channels it is a member of (or the one channel it names, if it
// may read it).
func (b *Broker) search(_ *conn, name string, body json.RawMessage) (any, error) {
	var req SearchRequest
	if err := decode(OpSearch, body, &req); err != nil {
		return nil, err
	}
	query := strings.TrimSpace(req.Query)
	if query == "" && req.From == "" && req.Channel == "" && req.Since.IsZero() && req.Until.IsZero() {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "search needs a query: give one or more words to find (or at least a filter: from, channel, since, until)")
	}
	if len(query) > 1000 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the query is %d bytes long: use a few words (at most 1000 bytes)", len(query))
	}
	if req.From != "" {
		if err := ipcmesh.ValidateName(req.From); err != nil {
			return nil, err
		}
	}
	if !req.Since.IsZero() && !req.Until.IsZero() && req.Until.Before(req.Since) {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "until (%s) is before since (%s): swap them", req.Until.Format(time.RFC3339), req.Since.Format(time.RFC3339))
	}
	limit := req.Limit
	switch {
	case limit <= 0:
		limit = DefaultSearch
	case limit > MaxSearch:
		limit = MaxSearch
	}
	q := store.Query{Words: query, From: req.From, Since: req.Since, Until: req.Until, Limit: limit, Reader: name}
	if req.Channel != "" {
		ch, err := b.channelFor(name, req.Channel)
		if err != nil {
			return nil, err
		}
		q.Channel = ch.Name
		q.Channels = []string{ch.Name}
	} else {
		chans, err := b.store.Channels()
		if err != nil {
			return nil, err
		}
		for _, ch := range chans {
			if isMember(ch, name) {
				q.Channels = append(q.Channels, ch.Name)
			}
		}
	}
	msgs, err := b.store.Search(q)
	if err != nil {
		return nil, err
	}
	// The store searches what Reader and Channels allow; this is the
	// broker's own word on it.
	allowed := make(map[string]bool, len(q.Channels))
	for _, ch := range q.Channels {
		allowed[ch] = true
	}
	msgs = slices.DeleteFunc(msgs, func(m ipcmesh.Message) bool {
		if m.Channel != "" {
			return !allowed[m.Channel]
		}
		return q.Channel != "" || m.From != name && m.To != name
	})
	if msgs == nil {
		msgs = []ipcmesh.Message{}
	}
	return &SearchResult{Messages: msgs}, nil
}

// setStatus sets the caller's status line and description.
func (b *Broker) setStatus(c *conn, name string, body json.RawMessage) (any, error) {
	var req SetStatusRequest
	if err := decode(OpSetStatus, body, &req); err != nil {
		return nil, err
	}
	if len(req.Status) > MaxStatus {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the status is %d bytes, over the limit of %d: keep it to one short line", len(req.Status), MaxStatus)
	}
	if strings.ContainsAny(req.Status, "\r\n") {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the status must be one line: put more in the description")
	}
	if err := checkDescription("description", req.Description); err != nil {
		return nil, err
	}
	if err := b.store.SetStatus(c.ctx, name, req.Status, req.Description); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// ThreadWaiters reports how many wait_reply requests are waiting right now.
// It lets a test (and a curious operator) see that a wait is in place
// before it sends the reply the wait is for.
func (b *Broker) ThreadWaiters() int { return b.presence.threadWaiting() }
