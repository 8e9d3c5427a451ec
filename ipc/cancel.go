package ipc

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// A request that waits for mail or a reply (check, wait_reply) may be
// called off by its client with cancel (revision 4): before it, a wait
// whose caller had given up (an MCP call cancelled, a command interrupted,
// an HTTP client that hung up on a reply wait) ran on at the broker until
// its wait_ms passed, up to 30 s a piece. It held one of the connection's
// MaxWaiting slots, so that a connection whose callers gave up on that
// many waits in a row had its next one refused, and status counted it
// among the checks waiting for mail.
//
// A wait called off ends as if its time had run out: it is answered with
// what it finds then, most often nothing. Its client no longer listens,
// and nothing a check answers is marked read, so nothing is lost.

// CancelRequest calls off the wait of the request with frame id ID on
// this connection.
type CancelRequest struct {
	ID uint64 `json:"id"`
}

// CancelResult says whether a wait was called off: false when the
// request had already been answered, or is not one that waits.
type CancelResult struct {
	Cancelled bool `json:"cancelled"`
}

// waitCall is a request of the connection that may wait, from the moment
// it is read (takeWait) until it is answered (release): a cancel read
// after it finds it, even before a worker has begun to serve it.
type waitCall struct {
	f      *Frame
	ctx    context.Context // its wait ends with it
	cancel context.CancelFunc
}

// startWait registers f, a request that may wait.
func (c *conn) startWait(f *Frame) {
	ctx, cancel := context.WithCancel(c.ctx)
	c.waitMu.Lock()
	if c.waitCalls == nil {
		c.waitCalls = make(map[uint64]*waitCall)
	}
	c.waitCalls[f.ID] = &waitCall{f: f, ctx: ctx, cancel: cancel}
	c.waitMu.Unlock()
}

// endWait unregisters f, answered.
func (c *conn) endWait(f *Frame) {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	// A client may reuse an id while a request of it waits: the entry is
	// the latest request's.
	if w := c.waitCalls[f.ID]; w != nil && w.f == f {
		delete(c.waitCalls, f.ID)
		w.cancel()
	}
}

// waitContext is the context the wait of f ends with: its client's cancel
// of it, or the end of the connection.
func (c *conn) waitContext(f *Frame) context.Context {
	c.waitMu.Lock()
	defer c.waitMu.Unlock()
	if w := c.waitCalls[f.ID]; w != nil && w.f == f {
		return w.ctx
	}
	return c.ctx
}

// calledOff reports whether a wait that ended on ctx was called off by
// its client, rather than ended with the connection.
func (c *conn) calledOff(ctx context.Context) bool {
	return ctx.Err() != nil && c.ctx.Err() == nil
}

// cancel calls off a wait of this connection.
func (b *Broker) cancel(c *conn, _ string, body json.RawMessage) (any, error) {
	var req CancelRequest
	if err := decode(OpCancel, body, &req); err != nil {
		return nil, err
	}
	if req.ID == 0 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "cancel needs the id of the request whose wait it calls off")
	}
	c.waitMu.Lock()
	w := c.waitCalls[req.ID]
	c.waitMu.Unlock()
	if w == nil {
		return &CancelResult{}, nil
	}
	w.cancel()
	return &CancelResult{Cancelled: true}, nil
}

// callOffTimeout bounds a cancel sent for a call whose caller has gone.
const callOffTimeout = 5 * time.Second

// callOff asks the broker to call off the wait of the request with frame
// id id, whose caller has given up on it. A broker older than revision 4
// does not know cancel: its wait runs out by itself.
func (c *Client) callOff(id uint64) {
	if c.broker.Revision < 4 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callOffTimeout)
	defer cancel()
	c.Call(ctx, OpCancel, CancelRequest{ID: id}, nil)
}
