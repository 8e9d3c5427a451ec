package natsstore

import (
	"context"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// The writes: each is one event in the log, answered with what applying it
// to this broker's view gave.

// AppendEarly stores drafts. early is called with the deliveries once the
// cluster has acked them and the view has them, before AppendEarly returns:
// on a cluster the push cannot go out before the ack, as it does on bbolt,
// since the order of the log decides the message's seq.
func (s *Store) AppendEarly(ctx context.Context, drafts []store.Draft, early func([]store.Delivery)) ([]store.Delivery, error) {
	// What the view would refuse anyway is refused here, out of the log.
	lim := s.viewNow().Limits()
	ds := make([]store.Delivery, len(drafts))
	var valid []store.Draft
	for i, d := range drafts {
		if ds[i].Err = lim.Check(d); ds[i].Err == nil {
			valid = append(valid, d)
		}
	}
	if len(valid) > 0 {
		v, err := s.write(ctx, opAppend, appendArgs{Drafts: valid, Limits: lim})
		if err != nil {
			return nil, err
		}
		stored := v.([]store.Delivery)
		for i := range ds {
			if ds[i].Err == nil {
				ds[i], stored = stored[0], stored[1:]
			}
		}
	}
	if early != nil {
		early(ds)
	}
	return ds, nil
}

// Append is AppendEarly without early.
func (s *Store) Append(ctx context.Context, drafts []store.Draft) ([]store.Delivery, error) {
	return s.AppendEarly(ctx, drafts, nil)
}

// Ack marks ids read by name.
func (s *Store) Ack(ctx context.Context, name string, ids []string) (int, error) {
	v, err := s.write(ctx, opAck, ackArgs{Name: name, IDs: ids})
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}

// PutSession records sess as the session of its name.
func (s *Store) PutSession(ctx context.Context, sess store.Session) error {
	_, err := s.write(ctx, opPutSession, sess)
	return err
}

// RevokeSession deletes name's session.
func (s *Store) RevokeSession(ctx context.Context, name string) error {
	_, err := s.write(ctx, opRevokeSession, nameArgs{Name: name})
	return err
}

// Rename moves old's identity to sess.Name.
func (s *Store) Rename(ctx context.Context, old string, sess store.Session, requestID string) (store.RenameResult, error) {
	v, err := s.write(ctx, opRename, renameArgs{Old: old, Session: sess, RequestID: requestID})
	if err != nil {
		return store.RenameResult{}, err
	}
	return v.(store.RenameResult), nil
}

// SetStatus sets name's status line and, unless description is nil, its
// description.
func (s *Store) SetStatus(ctx context.Context, name, status string, description *string) error {
	a := statusArgs{Name: name, Status: status}
	if description != nil {
		a.Description = *description
	} else {
		a.KeepDescription = true
		insts, err := s.viewNow().Instances()
		if err != nil {
			return fmt.Errorf("set the status of %s: read the description it keeps: %w", name, err)
		}
		for _, in := range insts {
			if in.Name == name {
				a.Description = in.Description
			}
		}
	}
	_, err := s.write(ctx, opSetStatus, a)
	return err
}

// Touch records when instances were last seen.
func (s *Store) Touch(ctx context.Context, seen map[string]time.Time) error {
	if len(seen) == 0 {
		return nil
	}
	_, err := s.write(ctx, opTouch, seen)
	return err
}

// CreateChannel stores a new channel.
func (s *Store) CreateChannel(ctx context.Context, ch ipcmesh.Channel) (ipcmesh.Channel, error) {
	v, err := s.write(ctx, opCreateChannel, ch)
	if err != nil {
		return ipcmesh.Channel{}, err
	}
	return v.(ipcmesh.Channel), nil
}

// JoinChannel adds members to channel name.
func (s *Store) JoinChannel(ctx context.Context, name string, members []string) (ipcmesh.Channel, error) {
	v, err := s.write(ctx, opJoinChannel, membersArgs{Name: name, Members: members})
	if err != nil {
		return ipcmesh.Channel{}, err
	}
	return v.(ipcmesh.Channel), nil
}

// LeaveChannel takes member out of channel name.
func (s *Store) LeaveChannel(ctx context.Context, name, member string) error {
	_, err := s.write(ctx, opLeaveChannel, leaveArgs{Name: name, Member: member})
	return err
}

// Share stores sh.Content under sh.Key.
func (s *Store) Share(ctx context.Context, sh ipcmesh.Shared) (ipcmesh.Shared, error) {
	v, err := s.write(ctx, opShare, shareArgs{Shared: sh, Limits: s.viewNow().Limits()})
	if err != nil {
		return ipcmesh.Shared{}, err
	}
	return v.(ipcmesh.Shared), nil
}

// PutAccessKey records a new key.
func (s *Store) PutAccessKey(ctx context.Context, k ipcmesh.AccessKey) error {
	_, err := s.write(ctx, opPutKey, k)
	return err
}

// RevokeAccessKeys revokes the key with id or, when id is empty, every key
// of name.
func (s *Store) RevokeAccessKeys(ctx context.Context, id, name string) ([]ipcmesh.AccessKey, error) {
	v, err := s.write(ctx, opRevokeKeys, revokeArgs{ID: id, Name: name})
	if err != nil {
		return nil, err
	}
	return v.([]ipcmesh.AccessKey), nil
}

// Sweep does nothing: the views apply the retention rules as they apply
// the log, at the same events, so that they never disagree about what is
// kept.
func (s *Store) Sweep(context.Context) (store.SweepStats, error) { return store.SweepStats{}, nil }

// The reads, served from this broker's view. A read sees every write this
// broker made and every write of another broker the view has applied,
// usually within a millisecond of its ack.

// Options returns the view's options: the mesh's limits and retention.
func (s *Store) Options() store.Options { return s.viewNow().Options() }

// Dir is the data folder; the view is in Dir/nats/PREFIX.
func (s *Store) Dir() string { return s.dir }

// Unread returns up to limit of name's unread messages, oldest first.
func (s *Store) Unread(name string, limit int) ([]ipcmesh.Message, error) {
	return s.viewNow().Unread(name, limit)
}

// UnreadFrom returns up to limit of name's unread direct messages from
// from, under any of its names, oldest first.
func (s *Store) UnreadFrom(name, from string, limit int) ([]ipcmesh.Message, error) {
	return s.viewNow().UnreadFrom(name, from, limit)
}

// UnreadAfter returns up to limit of name's unread messages (only from's,
// if set) whose seq is above after, oldest first.
func (s *Store) UnreadAfter(name, from string, after uint64, limit int) ([]ipcmesh.Message, error) {
	return s.viewNow().UnreadAfter(name, from, after, limit)
}

// UnreadCount returns how many messages name has not read.
func (s *Store) UnreadCount(name string) (int, error) { return s.viewNow().UnreadCount(name) }

// Get returns a message and its whole body.
func (s *Store) Get(name, id string) (ipcmesh.Message, string, error) {
	return s.viewNow().Get(name, id)
}

// BroadcastCopies returns the copies stored of broadcast id, by the name
// that has each now.
func (s *Store) BroadcastCopies(id string) (map[string]ipcmesh.Message, error) {
	return s.viewNow().BroadcastCopies(id)
}

// Lookup returns the message stored under id.
func (s *Store) Lookup(id string) (ipcmesh.Message, bool, error) { return s.viewNow().Lookup(id) }

// Conversation pages through the direct messages between a and b.
func (s *Store) Conversation(a, b string, p store.Page) ([]ipcmesh.Message, bool, error) {
	return s.viewNow().Conversation(a, b, p)
}

// Thread returns a page of the thread that message id belongs to, after
// seq after.
func (s *Store) Thread(id string, after uint64, limit int) ([]ipcmesh.Message, error) {
	return s.viewNow().Thread(id, after, limit)
}

// ThreadAfter returns the replies in thread after seq after, at most limit.
func (s *Store) ThreadAfter(thread string, after uint64, limit int) ([]ipcmesh.Message, error) {
	return s.viewNow().ThreadAfter(thread, after, limit)
}

// ThreadLast returns the seq of the newest reply in thread.
func (s *Store) ThreadLast(thread string) (uint64, error) { return s.viewNow().ThreadLast(thread) }

// Search finds messages; each broker's view indexes every message of the
// log, so every broker finds every message.
func (s *Store) Search(q store.Query) ([]ipcmesh.Message, bool, error) {
	return s.viewNow().Search(q)
}

// Session returns name's current session.
func (s *Store) Session(name string) (store.Session, bool, error) { return s.viewNow().Session(name) }

// SessionNames returns the names whose session has not expired.
func (s *Store) SessionNames() ([]string, error) { return s.viewNow().SessionNames() }

// RenameDone returns the result of rename request requestID.
func (s *Store) RenameDone(requestID string) (store.RenameResult, bool, error) {
	return s.viewNow().RenameDone(requestID)
}

// Resolve returns the name mail for name reaches, past rename forwards.
func (s *Store) Resolve(name string) (string, error) { return s.viewNow().Resolve(name) }

// EarlierNames returns the names name was renamed from, and until when.
func (s *Store) EarlierNames(name string) ([]store.EarlierName, error) {
	return s.viewNow().EarlierNames(name)
}

// Instances returns every instance record.
func (s *Store) Instances() ([]ipcmesh.Instance, error) { return s.viewNow().Instances() }

// Names returns every instance name.
func (s *Store) Names() ([]string, error) { return s.viewNow().Names() }

// Channel returns the channel called name.
func (s *Store) Channel(name string) (ipcmesh.Channel, bool, error) { return s.viewNow().Channel(name) }

// Channels returns every channel.
func (s *Store) Channels() ([]ipcmesh.Channel, error) { return s.viewNow().Channels() }

// ChannelHistory pages through a channel's posts.
func (s *Store) ChannelHistory(name string, p store.Page) ([]ipcmesh.Message, bool, error) {
	return s.viewNow().ChannelHistory(name, p)
}

// GetShared returns the value under key.
func (s *Store) GetShared(key string) (ipcmesh.Shared, error) { return s.viewNow().GetShared(key) }

// ListShared returns every shared value without its content.
func (s *Store) ListShared() ([]ipcmesh.Shared, error) { return s.viewNow().ListShared() }

// AccessKeys returns every key record.
func (s *Store) AccessKeys() ([]ipcmesh.AccessKey, error) { return s.viewNow().AccessKeys() }

// AccessKeyByID returns the record of the key with id.
func (s *Store) AccessKeyByID(id string) (ipcmesh.AccessKey, bool, error) {
	return s.viewNow().AccessKeyByID(id)
}

// Stats returns the view's totals, which are the mesh's; or, once the
// view stopped applying the log, why it did. Every write fails with that
// error meanwhile, while reads go on from the view as it was: status,
// which a person runs to learn what is wrong, said the store was fine.
func (s *Store) Stats() (store.Stats, error) {
	if err := s.failure(); err != nil {
		return store.Stats{}, err
	}
	return s.viewNow().Stats()
}

// Backup writes a consistent copy of the view: a bbolt store that
// `ipcmesh restore` puts back on one host.
func (s *Store) Backup(path string) (missing []string, err error) {
	return s.viewNow().Backup(path)
}

// WaitIndexed returns once the view's search index has every message
// applied before the call.
func (s *Store) WaitIndexed(ctx context.Context) error { return s.viewNow().WaitIndexed(ctx) }

// The Mesh: names held mesh-wide, and the mail of the other brokers.

// Claim holds name for this broker until Release, or until the broker
// stops renewing it for Options.LeaseTTL.
//
// Made again after a stop of this process (rideOutStop), a take finds
// the name held by this host, and holds it.
func (s *Store) Claim(ctx context.Context, name string) error {
	_, release, err := s.rideOutStop(ctx, s.opts.WriteTimeout, stallGrace, func(ctx context.Context) error {
		s.asking()
		return s.names.claim(ctx, name)
	})
	release()
	return notHeld(name, s.offline(err))
}

// WriteTimeout is how long a write, or a Claim, waits for the cluster
// before it fails with unavailable (Options.WriteTimeout).
func (s *Store) WriteTimeout() time.Duration { return s.opts.WriteTimeout }

// Release gives up name.
func (s *Store) Release(name string) { s.names.release(name) }

// Held reports whether some broker holds name.
func (s *Store) Held(name string) bool { return s.names.held(name) }

// Holders returns every name held in the mesh.
func (s *Store) Holders() []string { return s.names.holders() }

// Arrivals sets the function called with the messages other brokers stored.
func (s *Store) Arrivals(f func([]store.Delivery)) {
	s.mu.Lock()
	s.arrivals = f
	s.mu.Unlock()
}

// Revocations sets the function called with the access keys other brokers
// revoked.
func (s *Store) Revocations(f func([]ipcmesh.AccessKey)) {
	s.mu.Lock()
	s.revoked = f
	s.mu.Unlock()
}
