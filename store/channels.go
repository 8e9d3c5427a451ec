package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// channelRecord is a channel as stored under its name. What changes with
// every post (count, last activity, last seq) lives apart in channel-stats,
// so a post rewrites 24 bytes rather than the member list.
type channelRecord struct {
	Description string    `json:"description,omitempty"`
	Private     bool      `json:"private,omitempty"`
	CreatedBy   string    `json:"created_by"`
	Created     time.Time `json:"created"`
	Members     []string  `json:"members"` // sorted
}

// channelStats are a channel's per-post figures.
type channelStats struct {
	Messages   int       // posts stored (swept ones no longer count)
	LastActive time.Time // time of the last post
	LastSeq    uint64    // seq of the last post ever made
}

func (st channelStats) marshal() []byte {
	b := make([]byte, 0, 24)
	b = binary.BigEndian.AppendUint64(b, uint64(st.Messages))
	var ns int64
	if !st.LastActive.IsZero() {
		ns = st.LastActive.UnixNano()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(ns))
	return binary.BigEndian.AppendUint64(b, st.LastSeq)
}

func getChannelStats(b *bolt.Bucket, name string) channelStats {
	v := b.Get([]byte(name))
	if len(v) != 24 {
		return channelStats{}
	}
	st := channelStats{
		Messages: int(binary.BigEndian.Uint64(v)),
		LastSeq:  binary.BigEndian.Uint64(v[16:]),
	}
	if ns := int64(binary.BigEndian.Uint64(v[8:])); ns != 0 {
		st.LastActive = time.Unix(0, ns).UTC()
	}
	return st
}

func getChannel(channels *bolt.Bucket, name string) (channelRecord, bool, error) {
	return getJSON[channelRecord](channels, name, "channel %s")
}

func putChannel(channels *bolt.Bucket, name string, r channelRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return channels.Put([]byte(name), v)
}

// channelView is the channel as callers see it.
func channelView(t *tables, name string, r channelRecord) ipcmesh.Channel {
	st := getChannelStats(t.channelStats(), name)
	return ipcmesh.Channel{
		Name:        name,
		Description: r.Description,
		Private:     r.Private,
		CreatedBy:   r.CreatedBy,
		Created:     r.Created,
		Members:     slices.Clone(r.Members),
		Messages:    st.Messages,
		LastActive:  st.LastActive,
	}
}

func checkChannelName(name string) error {
	n, err := ipcmesh.NormalizeChannel(name)
	if err != nil {
		return err
	}
	if n != name {
		return ipcmesh.Errorf(ipcmesh.CodeInvalidName, "channel name %q is not normalised (it would be %q)", name, n)
	}
	return nil
}

func channelNotFound(name string) error {
	return ipcmesh.Errorf(ipcmesh.CodeNotFound, "there is no channel #%s: list the channels to see which exist", name)
}

// CreateChannel stores a new channel. ch.Name must be normalised already
// (ipcmesh.NormalizeChannel) and ch.CreatedBy set; the members are the
// creator and any listed (each must be a valid name; it need not be
// registered). A channel of that name already existing is name_taken.
// Created is set to now; Messages and LastActive start empty. Near names
// are the caller's business (Channels lists them).
func (s *Store) CreateChannel(ctx context.Context, ch ipcmesh.Channel) (ipcmesh.Channel, error) {
	if err := checkChannelName(ch.Name); err != nil {
		return ipcmesh.Channel{}, err
	}
	if err := ipcmesh.ValidateName(ch.CreatedBy); err != nil {
		return ipcmesh.Channel{}, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "channel creator: %v", err)
	}
	members := []string{ch.CreatedBy}
	for _, m := range ch.Members {
		if err := ipcmesh.ValidateName(m); err != nil {
			return ipcmesh.Channel{}, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "channel member: %v", err)
		}
		members = append(members, m)
	}
	slices.Sort(members)
	members = slices.Compact(members)

	var (
		out     ipcmesh.Channel
		refusal error
	)
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		refusal = nil
		t := tablesOf(tx)
		if t.channels().Get([]byte(ch.Name)) != nil {
			refusal = ipcmesh.Errorf(ipcmesh.CodeNameTaken, "channel #%s already exists: join it, or choose another name", ch.Name)
			return nil
		}
		rec := channelRecord{
			Description: ch.Description,
			Private:     ch.Private,
			CreatedBy:   ch.CreatedBy,
			Created:     time.Unix(0, s.now().UnixNano()).UTC(),
			Members:     members,
		}
		if err := putChannel(t.channels(), ch.Name, rec); err != nil {
			return err
		}
		// The stats of a channel of the same name that was dropped by hand
		// are gone too; a new channel starts from nothing.
		if err := t.channelStats().Put([]byte(ch.Name), channelStats{}.marshal()); err != nil {
			return err
		}
		for _, m := range members {
			if err := t.cursors().Put(cursorKey(m, ch.Name), seqKey(0)); err != nil {
				return err
			}
		}
		out = channelView(t, ch.Name, rec)
		return nil
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return ipcmesh.Channel{}, wrapFault("create channel #"+ch.Name, err)
	}
	return out, nil
}

// Channel returns the channel called name (normalised), if it exists.
func (s *Store) Channel(name string) (ipcmesh.Channel, bool, error) {
	var (
		out ipcmesh.Channel
		ok  bool
	)
	err := s.view(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		rec, found, err := getChannel(t.channels(), name)
		if err != nil || !found {
			return err
		}
		out, ok = channelView(t, name, rec), true
		return nil
	})
	if err != nil {
		return ipcmesh.Channel{}, false, fmt.Errorf("channel #%s: %w", name, err)
	}
	return out, ok, nil
}

// Channels returns every channel sorted by name, with members, message
// count and last activity. Private ones are included: the broker decides
// who sees them.
func (s *Store) Channels() ([]ipcmesh.Channel, error) {
	var out []ipcmesh.Channel
	err := s.view(func(tx *bolt.Tx) error {
		t := tablesOf(tx)
		return t.channels().ForEach(func(k, v []byte) error {
			var r channelRecord
			if err := json.Unmarshal(v, &r); err != nil {
				return fmt.Errorf("channel %s: %w", k, err)
			}
			out = append(out, channelView(t, string(k), r))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// JoinChannel adds members to channel name; those already members are left
// as they are. A new member's cursor starts at the channel's last post, so
// it gets no backlog in Unread (ChannelHistory shows it). It fails with
// not_found if there is no such channel. The broker decides who may add
// whom.
func (s *Store) JoinChannel(ctx context.Context, name string, members []string) (ipcmesh.Channel, error) {
	for _, m := range members {
		if err := ipcmesh.ValidateName(m); err != nil {
			return ipcmesh.Channel{}, ipcmesh.Errorf(ipcmesh.CodeInvalidName, "channel member: %v", err)
		}
	}
	var (
		out     ipcmesh.Channel
		refusal error
	)
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		refusal = nil
		t := tablesOf(tx)
		rec, ok, err := getChannel(t.channels(), name)
		if err != nil {
			return err
		}
		if !ok {
			refusal = channelNotFound(name)
			return nil
		}
		last := getChannelStats(t.channelStats(), name).LastSeq
		changed := false
		for _, m := range members {
			if _, in := slices.BinarySearch(rec.Members, m); in {
				continue
			}
			rec.Members = append(rec.Members, m)
			slices.Sort(rec.Members)
			changed = true
			if err := t.cursors().Put(cursorKey(m, name), seqKey(last)); err != nil {
				return err
			}
		}
		if changed {
			if err := putChannel(t.channels(), name, rec); err != nil {
				return err
			}
		}
		out = channelView(t, name, rec)
		return nil
	})
	if err == nil {
		err = refusal
	}
	if err != nil {
		return ipcmesh.Channel{}, wrapFault("join channel #"+name, err)
	}
	return out, nil
}

// LeaveChannel takes member out of channel name, with its cursor. Leaving
// a channel one is not in does nothing; a missing channel is not_found.
func (s *Store) LeaveChannel(ctx context.Context, name, member string) error {
	var refusal error
	err := s.c.submit(ctx, func(tx *bolt.Tx) error {
		refusal = nil
		t := tablesOf(tx)
		rec, ok, err := getChannel(t.channels(), name)
		if err != nil {
			return err
		}
		if !ok {
			refusal = channelNotFound(name)
			return nil
		}
		i, in := slices.BinarySearch(rec.Members, member)
		if in {
			rec.Members = slices.Delete(rec.Members, i, i+1)
			if err := putChannel(t.channels(), name, rec); err != nil {
				return err
			}
		}
		return t.cursors().Delete(cursorKey(member, name))
	})
	if err == nil {
		err = refusal
	}
	return wrapFault("leave channel #"+name, err)
}

// Memberships returns the channels name belongs to, sorted.
func (s *Store) Memberships(name string) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		for _, m := range memberships(tablesOf(tx), name) {
			out = append(out, m.channel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memberships of %s: %w", name, err)
	}
	return out, nil
}

// membership is one channel a name belongs to and its read cursor there.
type membership struct {
	channel string
	cursor  uint64
}

// memberships reads name's cursors: one short prefix walk, channel order.
func memberships(t *tables, name string) []membership {
	var out []membership
	prefix := append([]byte(name), 0)
	c := t.cursors().Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		out = append(out, membership{channel: string(k[len(prefix):]), cursor: seqOf(v)})
	}
	return out
}

// moveMemberships hands old's channels and cursors to newName in a rename.
// Where newName is already a member, its own cursor stays.
func moveMemberships(t *tables, old, newName string) error {
	for _, m := range memberships(t, old) {
		if err := t.cursors().Delete(cursorKey(old, m.channel)); err != nil {
			return err
		}
		if t.cursors().Get(cursorKey(newName, m.channel)) == nil {
			if err := t.cursors().Put(cursorKey(newName, m.channel), seqKey(m.cursor)); err != nil {
				return err
			}
		}
		rec, ok, err := getChannel(t.channels(), m.channel)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		if i, in := slices.BinarySearch(rec.Members, old); in {
			rec.Members = slices.Delete(rec.Members, i, i+1)
		}
		if _, in := slices.BinarySearch(rec.Members, newName); !in {
			rec.Members = append(rec.Members, newName)
			slices.Sort(rec.Members)
		}
		if err := putChannel(t.channels(), m.channel, rec); err != nil {
			return err
		}
	}
	return nil
}
