package ipc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
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
// the channel if the caller may read it, else not_found. A channel made,
// or the caller added to it, on another host an instant ago is found:
// the store catches up with the mesh before the refusal.
func (b *Broker) channelFor(ctx context.Context, name, typed string) (ipcmesh.Channel, error) {
	norm, err := ipcmesh.NormalizeChannel(typed)
	if err != nil {
		return ipcmesh.Channel{}, err
	}
	for first := true; ; first = false {
		ch, ok, err := b.store.Channel(norm)
		if err != nil {
			return ipcmesh.Channel{}, err
		}
		if ok && mayRead(ch, name) {
			return ch, nil
		}
		if !first || !b.caughtUp(ctx) {
			return ipcmesh.Channel{}, b.noChannel(name, norm)
		}
	}
}

// catchUpWithin bounds how long a refusal waits for the store to catch up
// with the mesh: a cluster that cannot say where its log ends in that
// time gets the view's answer.
const catchUpWithin = 2 * time.Second

// caughtUp brings a store whose reads lag the mesh's writes (a Follower)
// up to them, before the broker refuses something its view lacks. It
// reports whether it did: then the caller looks again. Only refusals pay
// for it, so the reads of every request stay the view's.
func (b *Broker) caughtUp(ctx context.Context) bool {
	f, ok := b.store.(Follower)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, catchUpWithin)
	defer cancel()
	if err := f.CatchUp(ctx); err != nil {
		b.log.Debug("catch up with the mesh before a refusal", "err", err)
		return false
	}
	return true
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
// up once, and its earlier names once.
type reader struct {
	b       *Broker
	name    string
	chans   map[string]bool
	earlier []store.EarlierName
	looked  bool // earlier is loaded: only once a message needs it
}

func (b *Broker) reader(name string) *reader {
	return &reader{b: b, name: name, chans: make(map[string]bool)}
}

func (r *reader) may(m ipcmesh.Message) (bool, error) {
	if m.Channel == "" {
		return r.owns(m)
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

// owns reports whether the direct message m is the caller's: sent or
// received under its name, or under an earlier one before it was renamed
// away. A rename must not take an instance's threads from it: an
// instance that asked for a reply, then renamed, still waits on the
// thread and replies in it.
func (r *reader) owns(m ipcmesh.Message) (bool, error) {
	if r.name == "" {
		return false, nil
	}
	if m.From == r.name || m.To == r.name {
		return true, nil
	}
	if !r.looked {
		earlier, err := r.b.store.EarlierNames(r.name)
		if err != nil {
			return false, err
		}
		r.earlier, r.looked = earlier, true
	}
	for _, e := range r.earlier {
		if (m.From == e.Name || m.To == e.Name) && !m.Time.After(e.Until) {
			return true, nil
		}
	}
	return false, nil
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
func (b *Broker) readable(ctx context.Context, name, id string) (ipcmesh.Message, error) {
	if id == "" || len(id) > 200 {
		return ipcmesh.Message{}, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a message id is required (at most 200 characters): use the id from send, check or history")
	}
	m, found, err := b.store.Lookup(id)
	if err == nil && !found && b.caughtUp(ctx) {
		// A message stored on another host an instant ago, which the
		// caller was told of (a push) before this view had it.
		m, found, err = b.store.Lookup(id)
	}
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
		"%s may read no message with id %q: check the id (history and check show ids; read messages are kept %s)",
		name, truncate(id, 70), human.Period(b.store.Options().HistoryRetention))
}

// threadOf is the id of the thread m belongs to: its first message's.
func threadOf(m ipcmesh.Message) string {
	if m.Thread != "" {
		return m.Thread
	}
	return m.ID
}
