package election

import (
	"context"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// CreateChannel makes a channel; this peer's name is its first member. The
// result's Warning names an existing channel with a close name. Creating a
// channel again with the same description and privacy returns it (so a
// retry after a failover does not fail); any other clash is name_taken.
func (p *Peer) CreateChannel(ctx context.Context, req ipc.ChannelCreateRequest) (ipc.ChannelResult, error) {
	var r ipc.ChannelResult
	err := p.Call(ctx, ipc.OpChannelCreate, req, &r)
	return r, err
}

// Channels lists the public channels and the private ones this peer is a
// member of; with a query, only those whose name or description holds one
// of its words.
func (p *Peer) Channels(ctx context.Context, query string) ([]ipcmesh.Channel, error) {
	var r ipc.ChannelListResult
	err := p.Call(ctx, ipc.OpChannelList, ipc.ChannelListRequest{Query: query}, &r)
	return r.Channels, err
}

// JoinChannel joins this peer to a public channel, with members if any are
// given; in a private channel it is a member of, it adds members.
func (p *Peer) JoinChannel(ctx context.Context, name string, members []string) (ipcmesh.Channel, error) {
	var r ipc.ChannelResult
	err := p.Call(ctx, ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: name, Members: members}, &r)
	return r.Channel, err
}

// LeaveChannel takes this peer out of a channel.
func (p *Peer) LeaveChannel(ctx context.Context, name string) error {
	return p.Call(ctx, ipc.OpChannelLeave, ipc.ChannelLeaveRequest{Name: name}, nil)
}

// History reads a conversation (req.With), a channel (req.Channel) or a
// thread (req.Thread, a message id): exactly one of them.
func (p *Peer) History(ctx context.Context, req ipc.HistoryRequest) (ipc.HistoryResult, error) {
	var r ipc.HistoryResult
	err := p.Call(ctx, ipc.OpHistory, req, &r)
	return r, err
}

// WaitReply waits up to wait for new messages in the thread of the message
// id: messages newer than the newest of the thread when WaitReply was
// called. Done is set when one of them has type done. It first asks,
// without waiting, what "newest" is, then waits after that seq: a wait
// retried on the next broker after a failover then still sees a reply that
// the last broker stored just before it went away.
func (p *Peer) WaitReply(ctx context.Context, id string, wait time.Duration) (ipc.WaitReplyResult, error) {
	var r ipc.WaitReplyResult
	if err := p.Call(ctx, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: id}, &r); err != nil || wait <= 0 || len(r.Messages) > 0 {
		return r, err
	}
	after := r.Last
	deadline := time.Now().Add(wait)
	for {
		left := time.Until(deadline)
		r = ipc.WaitReplyResult{}
		err := p.Call(ctx, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: id, After: after, WaitMS: max(left.Milliseconds(), 1)}, &r)
		if err != nil || len(r.Messages) > 0 || time.Until(deadline) <= 0 {
			return r, err
		}
		// The broker caps one wait; the time left is waited on again.
		after = max(after, r.Last)
	}
}

// Share stores content under key, replacing an older value. The result
// describes the entry without its content.
func (p *Peer) Share(ctx context.Context, key, content, description string) (ipcmesh.Shared, error) {
	var r ipc.SharedResult
	err := p.Call(ctx, ipc.OpShare, ipc.ShareRequest{Key: key, Content: content, Description: description}, &r)
	return r.Shared, err
}

// GetShared returns the entry under key with its content.
func (p *Peer) GetShared(ctx context.Context, key string) (ipcmesh.Shared, error) {
	var r ipc.SharedResult
	err := p.Call(ctx, ipc.OpGetShared, ipc.GetSharedRequest{Key: key}, &r)
	return r.Shared, err
}

// ListShared lists every shared key with its size and who stored it.
func (p *Peer) ListShared(ctx context.Context) ([]ipcmesh.Shared, error) {
	var r ipc.ListSharedResult
	err := p.Call(ctx, ipc.OpListShared, nil, &r)
	return r.Shared, err
}

// Search finds the messages this peer may read that hold every word of
// req.Query, newest first.
func (p *Peer) Search(ctx context.Context, req ipc.SearchRequest) ([]ipcmesh.Message, error) {
	var r ipc.SearchResult
	err := p.Call(ctx, ipc.OpSearch, req, &r)
	return r.Messages, err
}

// SetStatus sets this peer's status line and description, shown by List.
func (p *Peer) SetStatus(ctx context.Context, status, description string) error {
	return p.Call(ctx, ipc.OpSetStatus, ipc.SetStatusRequest{Status: status, Description: description}, nil)
}
