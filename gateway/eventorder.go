package gateway

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// An event stream sends its message events in the order of their seq, the
// order GET /api/v1/messages lists them, because a Last-Event-ID marks a
// place in that order: a replay sends the unread messages after the
// named one's seq (replay.go). The pushes do not come in that order. The
// messages of one commit are pushed from their senders' goroutines, in any
// order, and after a failover the peer hands on what it missed, older
// messages among newer ones. A stream that sent its pushes as they came
// could send 983 and then 982: a client that lost its connection between
// the two never had 982 replayed, and one that lost it after 982 had 983
// replayed a second time.
//
// So a push only wakes the stream, which reads the name's unread mail
// after the last message it sent, oldest first, and sends what it finds.
// The read waits for the commit under way (or runs in its transaction),
// so it finds every message of the commit whose push woke it, those not
// pushed yet among them; their pushes, when they come, are at or below
// what was sent, and are passed over. So is a push of a message that is
// no longer unread: one another client of the name acked first, as a
// replay leaves it out, and one pushed again because its sender sent it
// again with the same id after it was read.

// streamOrder is what a stream keeps to send in order.
type streamOrder struct {
	// last is the seq of the newest message sent.
	last uint64
	// known says that every message the stream has still to send is
	// after last: it read the inbox as it began, or replayed it whole.
	// Until then (more unread mail than a page as it began, and no
	// Last-Event-ID that replayed all after it) it sends its first
	// pushes as they are, sorted, from which on it knows.
	known bool
	// floor is last as the stream came to know it, when it did so on its
	// first pushes: a push at or below it may be one of the same commit
	// as those, not sent yet, and goes unless sent holds it.
	floor uint64
	// sent holds the ids sent at or below floor.
	sent map[string]bool
}

// newStreamOrder starts the order of a stream that replayed missed after
// the message with seq after (or, without a replay, began with the
// unread mail up to after); known says that nothing unread up to after
// is left to send.
func newStreamOrder(after uint64, missed []pushed, known bool) *streamOrder {
	o := &streamOrder{last: after, known: known, sent: map[string]bool{}}
	for _, m := range missed {
		o.sent[m.id] = true
		o.last = max(o.last, m.seq)
	}
	if !known {
		o.floor = o.last
	}
	return o
}

// event is a message event to send: id is left out of one that comes
// after a newer message, so that a client's Last-Event-ID stays the
// newest it has.
type event struct {
	id   string
	data []byte
}

// next returns the events to send for the pushes got, in order: read
// reads the unread messages after a seq, oldest first. An error of read
// is returned with the events of the pushes alone, sorted, for the stream
// to send as they are.
func (o *streamOrder) next(got []pushed, read func(after, upto uint64) ([]ipcmesh.Message, error)) ([]event, error) {
	var out []event
	var fresh []pushed
	for _, p := range got {
		switch {
		case p.seq > o.last:
			fresh = append(fresh, p)
		case p.seq <= o.floor && !o.sent[p.id]:
			// Older than what was sent, and not sent itself.
			o.sent[p.id] = true
			out = append(out, event{data: p.data})
		}
	}
	if len(fresh) == 0 {
		return out, nil
	}
	slices.SortFunc(fresh, func(a, b pushed) int { return cmp.Compare(a.seq, b.seq) })
	var err error
	if o.known {
		var msgs []ipcmesh.Message
		if msgs, err = read(o.last, fresh[len(fresh)-1].seq); err == nil {
			fresh, err = encodeAll(msgs, fresh)
		}
	}
	for _, p := range fresh {
		if p.seq > o.last {
			o.last = p.seq
			out = append(out, event{id: p.id, data: p.data})
			if !o.known {
				o.sent[p.id] = true
			}
		}
	}
	if !o.known {
		o.known, o.floor = true, o.last
	}
	return out, err
}

// encodeAll returns msgs as pushes, or pushes and an error when one does
// not encode.
func encodeAll(msgs []ipcmesh.Message, pushes []pushed) ([]pushed, error) {
	out := make([]pushed, 0, len(msgs))
	for _, m := range withoutPaths(msgs) {
		data, err := json.Marshal(m)
		if err != nil {
			return pushes, fmt.Errorf("encode message %s of an event stream: %w", m.ID, err)
		}
		out = append(out, pushed{id: m.ID, seq: m.Seq, data: data})
	}
	return out, nil
}

// unreadAfter reads the name's unread messages after seq after, oldest
// first, page by page, until a page is empty or reaches seq upto: what
// comes after upto is pushed and read in its turn.
func (s *Server) unreadAfter(c *call, after, upto uint64) ([]ipcmesh.Message, error) {
	var out []ipcmesh.Message
	for {
		r, err := c.peer().CheckMail(c.ctx, ipc.CheckRequest{Limit: replayLimit, After: after})
		if err != nil {
			return nil, err
		}
		if len(r.Messages) == 0 {
			return out, nil
		}
		out = append(out, r.Messages...)
		after = r.Messages[len(r.Messages)-1].Seq
		if after >= upto {
			return out, nil
		}
	}
}

// drain appends to got whatever waits in ch, without waiting for more.
func drain(got []pushed, ch <-chan pushed) []pushed {
	for {
		select {
		case p := <-ch:
			got = append(got, p)
		default:
			return got
		}
	}
}
