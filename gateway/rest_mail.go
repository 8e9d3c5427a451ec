package gateway

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// Longest waits a request may ask for (docs/HTTP.md).
const (
	maxCheckWait = 60 * time.Second
	maxReplyWait = 10 * time.Minute
)

type healthResult struct {
	Status  string `json:"status"`
	Version string `json:"version"`
}

type meResult struct {
	Name   string `json:"name" jsonschema:"the name the key acts as"`
	Unread int    `json:"unread" jsonschema:"messages waiting to be read"`
	Online bool   `json:"online" jsonschema:"whether any connection acts as the name now"`
}

type registerResult struct {
	Name   string `json:"name"`
	Unread int    `json:"unread"`
}

type ackBody struct {
	IDs []string `json:"ids" jsonschema:"ids of the messages to mark read"`
}

// sendBody is a send's body: the message, and the id a client may give
// it in the body rather than as the Idempotency-Key header, which a
// ChatGPT action cannot send (it sends no header but the key).
type sendBody struct {
	ipc.Outgoing
	ID string `json:"id,omitempty" jsonschema:"a new id for this message (8 to 64 letters, digits, _ or -), as the Idempotency-Key header gives it: the same send made again with it is stored and delivered once"`
}

type broadcastBody struct {
	Content string `json:"content" jsonschema:"the message text"`
	ID      string `json:"id,omitempty" jsonschema:"a new id for this broadcast (8 to 64 letters, digits, _ or -), as the Idempotency-Key header gives it: the same broadcast made again with it reaches nobody twice"`
}

// statusBody sets the status line and description, at register or on its
// own; a field left out keeps its value.
type statusBody struct {
	Status      *string `json:"status,omitempty" jsonschema:"a short line about what the name is doing; empty clears it"`
	Description *string `json:"description,omitempty" jsonschema:"what the name is for; empty clears it"`
}

type statusResult struct {
	Name        string `json:"name"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

func (s *Server) health(*call) (any, error) {
	return healthResult{Status: "ok", Version: s.opts.Version}, nil
}

// me asks the unnamed peer, so that looking does not put the name online.
func (s *Server) me(c *call) (any, error) {
	list, err := s.admin.List(c.ctx)
	if err != nil {
		return nil, err
	}
	res := meResult{Name: c.key.Name}
	for _, in := range list {
		if in.Name == c.key.Name {
			res.Unread, res.Online = in.Unread, in.Online
		}
	}
	return res, nil
}

func (s *Server) registerName(c *call) (any, error) {
	var b statusBody
	if err := c.decode(&b, false); err != nil {
		return nil, err
	}
	if b.Status != nil || b.Description != nil {
		if _, err := setStatus(c.ctx, c.peer(), c.key.Name, b.Status, b.Description); err != nil {
			return nil, err
		}
	}
	n, err := unread(c.ctx, c.peer())
	if err != nil {
		return nil, err
	}
	return registerResult{Name: c.key.Name, Unread: n}, nil
}

// unread counts the name's unread messages.
func unread(ctx context.Context, p *election.Peer) (int, error) {
	r, err := p.Check(ctx, 1, 0)
	if err != nil {
		return 0, err
	}
	return len(r.Messages) + r.Remaining, nil
}

func (s *Server) send(c *call) (any, error) {
	var b sendBody
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	if b.To == "" {
		// The mesh would say a name is required, not which field wants it.
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"field \"to\" is required: the name of the instance to send to (GET /api/v1/instances lists them), or #NAME to post to a channel")
	}
	if b.To == c.key.Name {
		// It would only reach the name's own inbox, to be read back as if
		// another had sent it: a mix-up of names, refused as the MCP send
		// tool and the command line refuse it. The mesh itself stores it.
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"this key acts as %s, and a message to %s would only reach its own inbox, so nothing was sent: send it to another instance (GET /api/v1/instances lists them)",
			b.To, b.To)
	}
	if b.Type == ipcmesh.TypeMessage {
		b.Type = "" // how the mesh stores the default type
	}
	id, err := idempotencyKey(c.r, b.ID)
	if err != nil {
		return nil, err
	}
	// The answer is the broker's own JSON: writeJSON encodes it as it
	// would the decoded ipc.SendResult.
	raw, err := c.peer().SendMessageJSON(c.ctx, ipc.SendRequest{ID: id, Outgoing: b.Outgoing})
	if err != nil {
		return nil, err
	}
	return sendWithoutPath(raw)
}

// idempotencyKey returns the id of the message a send or broadcast
// stores: the request's Idempotency-Key header, or the body's id, or ""
// when it has neither. The broker stores an id once, so a retried POST
// stores and delivers nothing new.
func idempotencyKey(r *http.Request, inBody string) (string, error) {
	header := r.Header.Get("Idempotency-Key")
	if header != "" && inBody != "" && header != inBody {
		return "", ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"the Idempotency-Key header %q and the body's id %q differ: give the id once, in either", truncate(header, 70), truncate(inBody, 70))
	}
	id, what := header, "the Idempotency-Key header"
	if id == "" {
		id, what = inBody, "the body's id"
	}
	if id == "" {
		return "", nil
	}
	if ipc.ValidateID("Idempotency-Key", id) != nil {
		return "", ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"%s %q is not valid: send 8 to 64 letters, digits, '_' or '-', new for each message (a random UUID will do)", what, truncate(id, 70))
	}
	return id, nil
}

// unreadResult is a page of unread mail, with a note when a from that
// no instance has found nothing.
type unreadResult struct {
	ipc.CheckResult
	Note string `json:"note,omitempty" jsonschema:"why nothing came: no instance has the name given as from, and the names likely meant"`
}

func (s *Server) check(c *call) (any, error) {
	q := c.query()
	limit := q.count("limit", 0)
	wait := q.duration("wait", maxCheckWait)
	if q.err != nil {
		return nil, q.err
	}
	from := q.str("from")
	r, err := c.use.sess.waitForMail(c.ctx, ipc.CheckRequest{Limit: limit, From: from}, wait)
	if err != nil {
		return nil, err
	}
	r.Messages = withoutPaths(nonNil(r.Messages))
	if n := withinBudget(r.Messages, checkBudget); n < len(r.Messages) {
		r.Remaining += len(r.Messages) - n
		r.Messages = r.Messages[:n]
	}
	res := unreadResult{CheckResult: r}
	if len(r.Messages) == 0 {
		res.Note = c.unknownName(from)
	}
	return res, nil
}

func (s *Server) ack(c *call) (any, error) {
	var b ackBody
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	if b.IDs == nil {
		// Answered "acked": 0, the client would take its mail for read.
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"field \"ids\" is required: the ids of the messages to mark read, as GET /api/v1/messages gives them")
	}
	n, err := c.peer().Ack(c.ctx, b.IDs)
	if err != nil {
		return nil, err
	}
	res := ackResult{AckResult: ipc.AckResult{Acked: n}}
	if ids := len(slices.Compact(slices.Sorted(slices.Values(b.IDs)))); n < ids {
		which := "the id given"
		if ids > 1 {
			which = fmt.Sprintf("%d of the %d ids given", ids-n, ids)
		}
		res.Note = fmt.Sprintf("no message was marked read for %s: read already, or not the id of an unread message of %s (GET /api/v1/messages gives them)", which, c.use.sess.name)
	}
	return res, nil
}

// ackResult says how many messages an ack marked read, with a note when
// some of its ids marked none: a mistyped id, or one of another name's
// mail, would otherwise pass for mail the reader took.
type ackResult struct {
	ipc.AckResult
	Note string `json:"note,omitempty" jsonschema:"how many of the ids marked no message, and why an id may not"`
}

func (s *Server) broadcast(c *call) (any, error) {
	var b broadcastBody
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	id, err := idempotencyKey(c.r, b.ID)
	if err != nil {
		return nil, err
	}
	r, err := c.peer().BroadcastMessage(c.ctx, ipc.BroadcastRequest{ID: id, Content: b.Content})
	if err != nil {
		return nil, err
	}
	r.Recipients = nonNil(r.Recipients)
	return r, nil
}

func (s *Server) instances(c *call) (any, error) {
	list, err := c.peer().List(c.ctx)
	if err != nil {
		return nil, err
	}
	return ipc.ListResult{Instances: nonNil(list)}, nil
}

func (s *Server) setStatus(c *call) (any, error) {
	var b statusBody
	if err := c.decode(&b, true); err != nil {
		return nil, err
	}
	return setStatus(c.ctx, c.peer(), c.key.Name, b.Status, b.Description)
}

// setStatus sets name's status line and description; a nil one keeps its
// value. The mesh keeps a description itself (keep_description), in the
// same write; a status line it always sets, so one kept is read first.
func setStatus(ctx context.Context, p *election.Peer, name string, status, desc *string) (statusResult, error) {
	res := statusResult{Name: name}
	current := func() error {
		list, err := p.List(ctx)
		if err != nil {
			return err
		}
		for _, in := range list {
			if in.Name == name {
				res.Status, res.Description = in.Status, in.Description
			}
		}
		return nil
	}
	req := ipc.SetStatusRequest{KeepDescription: desc == nil}
	if desc != nil {
		req.Description = *desc
	}
	if status != nil {
		req.Status = *status
	} else {
		if err := current(); err != nil {
			return res, err
		}
		req.Status = res.Status
	}
	if err := p.UpdateStatus(ctx, req); err != nil {
		return res, err
	}
	// The answer is what the mesh holds now. Should that read fail, the
	// error says so; the write is the same when sent again.
	return res, current()
}

// nonNil makes an empty list [] in JSON rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
