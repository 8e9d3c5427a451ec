package election

import (
	"context"
	"encoding/json"
	"errors"
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
// a subscribed peer reads its inbox and hands OnEvent the unread
// messages stored since shortly before the connection was lost: onEvent's
// filter drops those that were pushed already.
const (
	// catchUpSlack reaches back before the loss, for pushes lost in the
	// breaking connection and for brokers of a cluster whose clocks differ
	// a little from this host's.
	catchUpSlack = time.Minute
	// catchUpTimeout bounds the reads of the inbox.
	catchUpTimeout = 10 * time.Second
)

// catchUp passes OnEvent the unread mail c's broker stored from lost on
// (less catchUpSlack) that no broker pushed to this peer. Messages come
// oldest first, after whatever the new broker pushed meanwhile. The mail
// that came while away is the newest unread, so it reads on past the
// oldest page, a page at a time (each after the last seq of the one
// before, as nothing is acked), until it has read the inbox or its time is
// up. It runs on the supervisor's goroutine, so that Close still returns
// only once no more events can come.
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
	since := lost.Add(-catchUpSlack)
	var after uint64
	for read := 0; ; {
		var r ipc.CheckResult
		if err := c.Call(ctx, ipc.OpCheck, ipc.CheckRequest{Limit: ipc.MaxCheckLimit, After: after}, &r); err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				p.log.Info("read unread messages after reconnecting until the time was up; mail stored while away that is past them was not handed on, and waits unread",
					"read", read, "timeout", catchUpTimeout)
			} else {
				p.log.Debug("read the inbox after reconnecting", "err", err)
			}
			return
		}
		last := after
		for _, m := range r.Messages {
			if m.Seq <= after {
				continue // on a page answered again, handed on already
			}
			last = m.Seq
			read++
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
		if len(r.Messages) == 0 || r.Remaining == 0 {
			return
		}
		if last == after {
			// A broker older than CheckRequest.After answers with the
			// oldest page every time: reading on would never end.
			p.log.Info("the broker reads only the oldest unread messages; mail stored while away that is past them was not handed on, and waits unread",
				"read", read, "unread", len(r.Messages)+r.Remaining)
			return
		}
		after = last
	}
}
