package gateway

import (
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

type joinBody struct {
	Members []string `json:"members,omitempty" jsonschema:"names to add with the caller"`
}

type channelOnly struct {
	Channel ipcmesh.Channel `json:"channel"`
}

type leftResult struct {
	Left      string `json:"left" jsonschema:"the channel left"`
	NotMember bool   `json:"not_member,omitempty" jsonschema:"the caller was not in the channel: nothing changed"`
}

type historyResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	More     bool              `json:"more" jsonschema:"older messages exist: pass the last seq as before"`
	With     string            `json:"with,omitempty" jsonschema:"the name that with was renamed to: the conversation returned is the one with it"`
	Note     string            `json:"note,omitempty" jsonschema:"why the conversation may be empty: no instance has the name given as with, and the names likely meant"`
}

type threadResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	More     bool              `json:"more" jsonschema:"later messages exist: pass the last seq as after"`
}

type searchResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	More     bool              `json:"more" jsonschema:"older matches exist: pass the last seq as before"`
	Note     string            `json:"note,omitempty" jsonschema:"how words of q that other search syntaxes take for operators were taken (search has none), and, when nothing matched, that no instance has the name given as from"`
}

type waitResult struct {
	Messages []ipcmesh.Message `json:"messages"`
	Done     bool              `json:"done" jsonschema:"a done message came, or the message waited on is one"`
	Last     uint64            `json:"last" jsonschema:"the seq this answer accounts for"`
}

type shareBody struct {
	Content     string `json:"content" jsonschema:"the content to store"`
	Description string `json:"description,omitempty" jsonschema:"what the content is"`
}

func (s *Server) channels(c *call) (any, error) {
	list, err := c.peer().Channels(c.ctx, c.query().str("q"))
	if err != nil {
		return nil, err
	}
	return ipc.ChannelListResult{Channels: nonNil(list)}, nil
}

func (s *Server) createChannel(c *call) (any, error) {
	var b ipc.ChannelCreateRequest
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	return c.peer().CreateChannel(c.ctx, b)
}

func (s *Server) joinChannel(c *call) (any, error) {
	var b joinBody
	if err := c.decode(&b, false); err != nil {
		return nil, err
	}
	ch, err := c.peer().JoinChannel(c.ctx, c.r.PathValue("name"), b.Members)
	if err != nil {
		return nil, err
	}
	return channelOnly{Channel: ch}, nil
}

func (s *Server) leaveChannel(c *call) (any, error) {
	name := c.r.PathValue("name")
	left, err := c.peer().LeaveChannel(c.ctx, name)
	if err != nil {
		return nil, err
	}
	if n, err := ipcmesh.NormalizeChannel(name); err == nil {
		name = n
	}
	return leftResult{Left: name, NotMember: !left}, nil
}

func (s *Server) history(c *call) (any, error) {
	q := c.query()
	req := ipc.HistoryRequest{With: q.str("with"), Channel: q.str("channel"), Before: q.seq("before"), Limit: q.count("limit", 0),
		Since: q.time("since"), Until: q.time("until")}
	if q.err != nil {
		return nil, q.err
	}
	if (req.With == "") == (req.Channel == "") {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "give exactly one of with=NAME (a conversation) or channel=NAME; for a thread use /api/v1/threads/{id}")
	}
	r, err := c.peer().History(c.ctx, req)
	if err != nil {
		return nil, err
	}
	msgs, more := paged(withoutPaths(nonNil(r.Messages)), r.More)
	res := historyResult{Messages: msgs, More: more, With: r.With}
	if len(msgs) == 0 {
		res.Note = c.unknownName(req.With)
	}
	return res, nil
}

func (s *Server) thread(c *call) (any, error) {
	q := c.query()
	req := ipc.HistoryRequest{Thread: c.r.PathValue("id"), After: q.seq("after"), Limit: q.count("limit", 0)}
	if q.err != nil {
		return nil, q.err
	}
	r, err := c.peer().History(c.ctx, req)
	if err != nil {
		return nil, err
	}
	msgs, more := paged(withoutPaths(nonNil(r.Messages)), r.More)
	return threadResult{Messages: msgs, More: more}, nil
}

func (s *Server) waitReply(c *call) (any, error) {
	q := c.query()
	wait := q.duration("wait", maxReplyWait)
	if q.err != nil {
		return nil, q.err
	}
	r, err := c.peer().WaitReply(c.ctx, c.r.PathValue("id"), wait)
	if err != nil {
		return nil, err
	}
	return waitResult{Messages: withoutPaths(nonNil(r.Messages)), Done: r.Done, Last: r.Last}, nil
}

func (s *Server) listShared(c *call) (any, error) {
	list, err := c.peer().ListShared(c.ctx)
	if err != nil {
		return nil, err
	}
	return ipc.ListSharedResult{Shared: nonNil(list)}, nil
}

func (s *Server) putShared(c *call) (any, error) {
	var b shareBody
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	return c.peer().Share(c.ctx, c.r.PathValue("key"), b.Content, b.Description)
}

func (s *Server) search(c *call) (any, error) {
	q := c.query()
	req := ipc.SearchRequest{
		Query:   q.str("q"),
		From:    q.str("from"),
		Channel: q.str("channel"),
		Since:   q.time("since"),
		Until:   q.time("until"),
		Limit:   q.count("limit", 0),
		Before:  q.seq("before"),
	}
	if q.err != nil {
		return nil, q.err
	}
	r, err := c.peer().Search(c.ctx, req)
	if err != nil {
		return nil, err
	}
	msgs, more := paged(withoutPaths(nonNil(r.Messages)), r.More)
	res := searchResult{Messages: msgs, More: more}
	var notes []string
	if note := ipcmesh.ExplainQuery(req.Query, func(name, value string) string { return name + "=" + value }); note != "" {
		notes = append(notes, "S"+note[1:]+".")
	}
	if len(msgs) == 0 {
		if note := c.unknownName(req.From); note != "" {
			notes = append(notes, note)
		}
	}
	res.Note = strings.Join(notes, " ")
	return res, nil
}
