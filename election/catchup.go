package election

import (
	"context"
	"encoding/json"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A broker pushes a message to the connections subscribed to its recipient
// at the moment it stores it. Mail stored while a peer had no connection
// (an election after the broker was lost, or the peer's own connection cut)
// was pushed to nobody, and a push written to the connection as it broke
// may never have arrived. Such mail waits unread, but a user that waits
// for pushes (an assistant idle until notified, a hook waiting for mail)
// is not told of it until the next message comes. So after each reconnect
// a subscribed peer reads its inbox once and hands OnEvent the unread
// messages stored since shortly before the connection was lost: onEvent's
// filter drops those that were pushed already.
const (
	// catchUpSlack reaches back before the loss, for pushes lost in the
	// breaking connection and for brokers of a cluster whose clocks differ
	// a little from this host's.
	catchUpSlack = time.Minute
	// catchUpTimeout bounds the one read of the inbox.
	catchUpTimeout = 10 * time.Second
)

// catchUp passes OnEvent the unread mail c's broker stored from lost on
// (less catchUpSlack) that no broker pushed to this peer. Messages come
// oldest first, after whatever the new broker pushed meanwhile. It reads
// one page of the inbox, the oldest: behind a backlog of more unread mail
// than a check returns (ipc.MaxCheckLimit messages, 1 MiB of text), what
// came while away is not handed on, and waits unread. It runs on the
// supervisor's goroutine, so that Close still returns only once no more
// events can come.
func (p *Peer) catchUp(c *ipc.Client, lost time.Time) {
	if !p.cfg.Subscribe || p.cfg.OnEvent == nil || p.Name() == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), catchUpTimeout)
	defer cancel()
	go func() {
		select {
		case <-p.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	var r ipc.CheckResult
	if err := c.Call(ctx, ipc.OpCheck, ipc.CheckRequest{Limit: ipc.MaxCheckLimit}, &r); err != nil {
		p.log.Debug("read the inbox after reconnecting", "err", err)
		return
	}
	since := lost.Add(-catchUpSlack)
	for _, m := range r.Messages {
		if m.Time.Before(since) || p.filters.acked.has(m.ID) {
			continue
		}
		body, err := json.Marshal(m)
		if err != nil {
			continue
		}
		if !p.deliver(ipc.Event{Name: ipc.EventMessage, Body: body}, p.closing) {
			return
		}
	}
	if r.Remaining > 0 {
		p.log.Info("read the oldest unread messages after reconnecting; mail stored while away that is past them was not handed on, and waits unread",
			"read", len(r.Messages), "unread", len(r.Messages)+r.Remaining)
	}
}
