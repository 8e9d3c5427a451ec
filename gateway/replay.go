package gateway

import (
	"encoding/json"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// A client of an event stream that lost its connection reconnects with
// the Last-Event-ID header: the id of the last message event it got (an
// EventSource does so by itself). The messages committed while it was
// away are unread, but no event would bring them: the stream's
// subscription starts with the request. So the stream replays them,
// after ready and before any new message, from the same unread mail a
// check reads.
//
// No message is missed or sent twice: the stream's use was subscribed
// before the handler runs (sessions.acquire), so a message is committed
// either before the replay is read, and is in it, or after the
// subscription, and is pushed to the stream; one that is both (committed
// in between) is sent once, from the replay, which comes first. The
// stream goes on in the order of seq from the replay (eventorder.go).

// replayLimit bounds a replay, as a check's default page does: a client
// that was away long reads the rest with GET /api/v1/messages, which
// ready's replay.more tells it to.
const replayLimit = ipc.DefaultCheckLimit

// readyEvent is the data of a stream's first event.
type readyEvent struct {
	Name   string `json:"name"`
	Unread int    `json:"unread"`
	// Replay answers the request's Last-Event-ID; left out without one.
	Replay *replayResult `json:"replay,omitempty"`
}

// replayResult says what came of a Last-Event-ID. A stream starts
// whatever it says: a reconnect is never refused for its header.
type replayResult struct {
	// After is the Last-Event-ID as sent (cut short if it is long).
	After string `json:"after"`
	// Replayed counts the message events that follow ready before any
	// new message.
	Replayed int `json:"replayed"`
	// More says that more unread messages came after the named one than
	// a replay sends: the client reads them with GET /api/v1/messages.
	More bool `json:"more,omitempty"`
	// Error says why nothing was replayed; the client reads what is
	// unread with GET /api/v1/messages instead.
	Error *ipcmesh.Error `json:"error,omitempty"`
}

// replay reads what a stream replays for the request's Last-Event-ID:
// nil and no messages without the header, and the seq of the message the
// header names (0 when none does). Only the end of the request (its
// client gone, its key revoked, the face closing) is an error; any other
// failure is told in the result, and nothing is replayed.
func (s *Server) replay(c *call) (*replayResult, []pushed, uint64, error) {
	id := c.r.Header.Get("Last-Event-ID")
	if id == "" {
		return nil, nil, 0, nil
	}
	if s.beforeReplay != nil {
		s.beforeReplay()
	}
	res := &replayResult{After: id}
	if !isMessageID(id) {
		res.After = truncate(id, 70)
		res.Error = ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"Last-Event-ID %q is not a message id (the id of a message event: up to 200 letters, digits, '_', '-' or '.'), so nothing was replayed: read what is unread with GET /api/v1/messages",
			truncate(id, 70))
		return res, nil, 0, nil
	}
	msgs, after, more, err := s.missed(c, id)
	if err != nil {
		if c.ctx.Err() != nil {
			return nil, nil, 0, err
		}
		res.Error = s.replayError(c, id, err)
		return res, nil, 0, nil
	}
	out := make([]pushed, 0, len(msgs))
	for _, m := range withoutPaths(msgs) {
		data, err := json.Marshal(m)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("encode message %s of a replay: %w", m.ID, err)
		}
		out = append(out, pushed{id: m.ID, seq: m.Seq, data: data})
	}
	res.Replayed, res.More = len(out), more
	return res, out, after, nil
}

// missed returns the name's unread messages after the message with id,
// oldest first as a check returns them, at most replayLimit, and that
// message's seq; more says that there were more. It reads on page by
// page until a page is empty, so that more is not set for a page cut
// short by the broker's byte budget, and a message committed meanwhile is
// read too.
func (s *Server) missed(c *call, id string) (msgs []ipcmesh.Message, seq uint64, more bool, err error) {
	p := c.peer()
	// Its seq is all the replay needs of the message, not its body.
	f, err := p.FetchPart(c.ctx, id, ipc.Part{Limit: 1})
	if err != nil {
		return nil, 0, false, err
	}
	for after := f.Message.Seq; ; {
		r, err := p.CheckMail(c.ctx, ipc.CheckRequest{Limit: replayLimit + 1 - len(msgs), After: after})
		if err != nil {
			return nil, 0, false, err
		}
		if len(r.Messages) == 0 {
			return msgs, f.Message.Seq, false, nil
		}
		msgs = append(msgs, r.Messages...)
		if len(msgs) > replayLimit {
			return msgs[:replayLimit], f.Message.Seq, true, nil
		}
		after = r.Messages[len(r.Messages)-1].Seq
	}
}

// replayError is what ready says of a replay that failed with err.
func (s *Server) replayError(c *call, id string, err error) *ipcmesh.Error {
	e, ok := meshError(c.ctx, err)
	if !ok {
		s.log.Error("replay of an event stream failed", "name", c.key.Name, "key_id", c.key.ID, "err", err)
	}
	if e.Code == ipcmesh.CodeNotFound {
		// The broker says the same of another name's message as of one
		// that never was, and so does this.
		return ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"Last-Event-ID %q names no message %s may read (none has that id, it is another name's, or it was read and since deleted by retention), so nothing was replayed: read what is unread with GET /api/v1/messages",
			id, c.key.Name)
	}
	if !ok {
		return ipcmesh.Errorf(ipcmesh.CodeInternal,
			"the face failed to read the messages after Last-Event-ID %q (its log says why), so nothing was replayed: read what is unread with GET /api/v1/messages", id)
	}
	replay := *e
	replay.Message = fmt.Sprintf("nothing was replayed after Last-Event-ID %q: %s; read what is unread with GET /api/v1/messages", id, e.Message)
	return &replay
}

// isMessageID reports whether id has the shape of a message id: a
// client's id of letters, digits, '_' and '-', and for a broadcast's
// copy '.' and the recipient's name after it. Fetch takes up to 200
// bytes.
func isMessageID(id string) bool {
	if len(id) > 200 {
		return false
	}
	for i := 0; i < len(id); i++ {
		ch := id[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '.') {
			return false
		}
	}
	return true
}
