package ipc

import (
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// Limits of the collaboration requests.
const (
	// MaxStatus and MaxDescription bound set_status's fields, in bytes.
	MaxStatus      = 200
	MaxDescription = 500
	// MaxMembers bounds the names one channel_create or channel_join
	// gives in members; the caller, whom either may add as well, is not
	// counted.
	MaxMembers = 1000
)

// ChannelCreateRequest makes a channel. Name is normalised ("#Auth Dev" is
// auth-dev). A private channel is read and posted to by Members only; the
// creator is always a member.
type ChannelCreateRequest struct {
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Private     bool     `json:"private,omitempty"`
	Members     []string `json:"members,omitempty"`
}

// ChannelResult is the channel as stored. Warning, from channel_create,
// names an existing channel whose name is close to the new one.
type ChannelResult struct {
	Channel ipcmesh.Channel `json:"channel"`
	Warning string          `json:"warning,omitempty"`
}

// ChannelListRequest lists channels; with Query, only those whose name or
// description holds one of its words (case-insensitive).
type ChannelListRequest struct {
	Query string `json:"query,omitempty"`
}

// ChannelListResult lists channels by name.
type ChannelListResult struct {
	Channels []ipcmesh.Channel `json:"channels"`
}

// ChannelJoinRequest joins the caller to a public channel (and Members with
// it), or adds Members to a private channel the caller is a member of.
type ChannelJoinRequest struct {
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

// ChannelLeaveRequest takes the caller out of a channel.
type ChannelLeaveRequest struct {
	Name string `json:"name"`
}

// ChannelLeaveResult answers channel_leave. NotMember says the caller was
// not in the channel, so nothing changed: a second leave, or a leave of a
// public channel never joined. A user told "left" twice would wonder
// whether the first leave took.
type ChannelLeaveResult struct {
	NotMember bool `json:"not_member,omitempty"`
}

// HistoryRequest reads exactly one of: the conversation between the caller
// and With, a Channel, or the Thread of a message id. Conversations and
// channels come newest first, a page of Limit before the seq Before (0: the
// newest); a Limit of 0 is store.DefaultHistoryLimit, and none is over
// store.MaxHistoryLimit. A thread comes oldest first, from its first
// message or from the seq After on, a page of Limit (0: as many as
// store.MaxHistoryLimit) and no more than a frame holds well. Since and
// Until (both inclusive, optional) keep the messages sent between them.
type HistoryRequest struct {
	With    string    `json:"with,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Thread  string    `json:"thread,omitempty"`
	Before  uint64    `json:"before,omitempty"`
	After   uint64    `json:"after,omitempty"`
	Limit   int       `json:"limit,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
}

// HistoryResult is one page. More says there is more: for a conversation
// or a channel, older messages (ask again with Before set to the seq of the
// last, oldest, message of this page); for a thread, later ones (ask again
// with After set to the seq of the last, newest, message of this page).
type HistoryResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	More     bool              `json:"more,omitempty"`
	// With is set when the name asked for (HistoryRequest.With) was
	// renamed and mail to it is still forwarded: the conversation is the
	// one with With, the name it was renamed to.
	With string `json:"with,omitempty"`
}

// WaitReplyRequest waits up to WaitMS for new messages in the thread of the
// message ID. New means a seq above After, or, when After is 0, above the
// newest message of the thread at the time of the request.
type WaitReplyRequest struct {
	ID     string `json:"id"`
	After  uint64 `json:"after,omitempty"`
	WaitMS int64  `json:"wait_ms,omitempty"`
}

// WaitReplyResult holds the new messages of the thread, oldest first (empty
// when the time ran out). Done is true when one of them has type done.
// Last is the seq the answer accounts for: the newest returned, or the one
// waited after; send it as After to wait for the next ones without missing
// any.
type WaitReplyResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	Done     bool              `json:"done,omitempty"`
	Last     uint64            `json:"last"`
}

// ShareRequest stores Content under Key, replacing what was there.
type ShareRequest struct {
	Key         string `json:"key"`
	Content     string `json:"content"`
	Description string `json:"description,omitempty"`
}

// SharedResult holds one shared entry: without content from share, with
// it from get_shared.
type SharedResult struct {
	Shared ipcmesh.Shared `json:"shared"`
	// Offset is where the content starts in the whole value, when
	// get_shared asked for a part of it; Shared.Size is the whole's.
	Offset int `json:"offset,omitempty"`
}

// GetSharedRequest asks for the content under Key, or the part of it that
// Part asks for (revision 3).
type GetSharedRequest struct {
	Key string `json:"key"`
	Part
}

// ListSharedResult lists every shared key, without content.
type ListSharedResult struct {
	Shared []ipcmesh.Shared `json:"shared"`
}

// SearchRequest finds the messages the caller may read that hold every word
// of Query, newest first, filtered by sender (From matches what that
// instance sent under its earlier names too), channel and time: at most
// Limit of them, store.DefaultSearchLimit for 0 and never more than
// store.MaxSearchLimit. Before (revision 2) reads on: only matches with a
// seq below it, the last seq of the page before.
type SearchRequest struct {
	Query   string    `json:"query"`
	From    string    `json:"from,omitempty"`
	Channel string    `json:"channel,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Limit   int       `json:"limit,omitempty"`
	Before  uint64    `json:"before,omitempty"`
}

// SearchResult holds the matches, newest first. More says older ones
// match too: the next page is the search with the last seq as Before. A
// broker older than revision 2 never says it.
type SearchResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	More     bool              `json:"more,omitempty"`
}

// SetStatusRequest sets the caller's status line and description, shown by
// list. Empty strings clear them. With KeepDescription the description
// stays as it is, and Description must be empty: a status line changes
// far more often than what an instance is for. A broker older than the
// field ignores it and clears the description.
type SetStatusRequest struct {
	Status          string `json:"status"`
	Description     string `json:"description,omitempty"`
	KeepDescription bool   `json:"keep_description,omitempty"`
}
