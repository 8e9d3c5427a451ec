package election

import (
	"context"
	"fmt"
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

// LeaveChannel takes this peer out of a channel. It reports false when
// the peer was not in it, so nothing changed. A broker from before that
// answer existed answers every leave alike, taken as true.
func (p *Peer) LeaveChannel(ctx context.Context, name string) (left bool, err error) {
	var r ipc.ChannelLeaveResult
	if err := p.Call(ctx, ipc.OpChannelLeave, ipc.ChannelLeaveRequest{Name: name}, &r); err != nil {
		return false, err
	}
	return !r.NotMember, nil
}

// History reads a conversation (req.With), a channel (req.Channel) or a
// thread (req.Thread, a message id): exactly one of them.
func (p *Peer) History(ctx context.Context, req ipc.HistoryRequest) (ipc.HistoryResult, error) {
	var r ipc.HistoryResult
	err := p.Call(ctx, ipc.OpHistory, req, &r)
	return r, err
}

// WaitReply returns the messages of id's thread that came after id itself,
// waiting up to wait for one if there are none yet; Done says a done came
// (or id is one). Waiting after id, not after the thread's newest message,
// is what "wait for the reply to my request" means: an answer that came
// while the asker was busy elsewhere is returned at once, not missed. The
// wait is asked for in pieces (waitPiece). A piece cut by a failover is
// asked again of the next broker after the same seq, so nothing stored in
// between is missed.
func (p *Peer) WaitReply(ctx context.Context, id string, wait time.Duration) (ipc.WaitReplyResult, error) {
	// Its seq and type are all the wait needs of it, not its body.
	f, err := p.FetchPart(ctx, id, ipc.Part{Limit: 1})
	if err != nil {
		return ipc.WaitReplyResult{}, err
	}
	if f.Message.Type == ipcmesh.TypeDone {
		return ipc.WaitReplyResult{Done: true, Last: f.Message.Seq}, nil
	}
	after := f.Message.Seq
	deadline := p.now().Add(wait)
	for {
		var r ipc.WaitReplyResult
		left := min(deadline.Sub(p.now()), p.piece)
		err := p.Call(ctx, ipc.OpWaitReply, ipc.WaitReplyRequest{ID: id, After: after, WaitMS: max(left.Milliseconds(), 1)}, &r)
		if err != nil || len(r.Messages) > 0 || r.Done || deadline.Sub(p.now()) <= 0 {
			return r, err
		}
		after = max(after, r.Last)
	}
}

// waitPiece is the longest single wait CheckMail and WaitReply ask a
// broker for. A broker holds one for at most ipc.MaxWait: asked for in
// pieces, a wait lasts as long as its caller wants. A caller that gives
// up calls its piece off (cancel), but a broker older than revision 4
// cannot be told to: there it leaves at most one piece waiting.
const waitPiece = 30 * time.Second

// Share stores content under key, replacing an older value. The result
// describes the entry without its content.
func (p *Peer) Share(ctx context.Context, key, content, description string) (ipcmesh.Shared, error) {
	if err := p.fits(fmt.Sprintf("the content for %q", key), content, "split it over several keys", "Nothing was shared"); err != nil {
		return ipcmesh.Shared{}, err
	}
	var r ipc.SharedResult
	err := p.Call(ctx, ipc.OpShare, ipc.ShareRequest{Key: key, Content: content, Description: description}, &r)
	return r.Shared, err
}

// GetShared returns the entry under key with its content.
func (p *Peer) GetShared(ctx context.Context, key string) (ipcmesh.Shared, error) {
	r, err := p.GetSharedPart(ctx, key, ipc.Part{})
	return r.Shared, err
}

// GetSharedPart returns the entry under key with the part of its content
// that part asks for.
func (p *Peer) GetSharedPart(ctx context.Context, key string, part ipc.Part) (ipc.SharedResult, error) {
	var r ipc.SharedResult
	err := p.Call(ctx, ipc.OpGetShared, ipc.GetSharedRequest{Key: key, Part: part}, &r)
	return r, err
}

// ListShared lists every shared key with its size and who stored it.
func (p *Peer) ListShared(ctx context.Context) ([]ipcmesh.Shared, error) {
	var r ipc.ListSharedResult
	err := p.Call(ctx, ipc.OpListShared, nil, &r)
	return r.Shared, err
}

// Search finds the messages this peer may read that hold every word of
// req.Query, newest first, and says whether older ones match too.
func (p *Peer) Search(ctx context.Context, req ipc.SearchRequest) (ipc.SearchResult, error) {
	var r ipc.SearchResult
	err := p.Call(ctx, ipc.OpSearch, req, &r)
	return r, err
}

// SetStatus sets this peer's status line and description, shown by List.
func (p *Peer) SetStatus(ctx context.Context, status, description string) error {
	return p.UpdateStatus(ctx, ipc.SetStatusRequest{Status: status, Description: description})
}

// UpdateStatus is SetStatus as req asks: with KeepDescription, the status
// line alone.
func (p *Peer) UpdateStatus(ctx context.Context, req ipc.SetStatusRequest) error {
	return p.Call(ctx, ipc.OpSetStatus, req, nil)
}
