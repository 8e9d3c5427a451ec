package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// events serves GET /api/v1/events: a server-sent-events stream of the
// name's new messages. The stream's use was made with an events channel
// before this runs, so no message committed after the ready event's
// unread count can be missed. A client that reconnects with Last-Event-ID
// gets the unread messages after that one first (replay.go). The stream
// ends when the client goes, when its key is revoked, when it falls
// behind (the client reconnects and reads the rest with GET
// /api/v1/messages), when an event cannot be written to it within
// streamWriteTimeout, and when the face closes. Its message events come in
// the order of seq (eventorder.go).
func (s *Server) events(c *call) (any, error) {
	// The unread mail as the stream starts: its count for ready, and,
	// when one page holds it all, the place the stream goes on from.
	start, err := c.peer().CheckMail(c.ctx, ipc.CheckRequest{Limit: replayLimit})
	if err != nil {
		return nil, err
	}
	n := len(start.Messages) + start.Remaining
	replay, missed, after, err := s.replay(c)
	if err != nil {
		return nil, err
	}
	whole := start.Remaining == 0
	if len(start.Messages) > 0 {
		after = max(after, start.Messages[len(start.Messages)-1].Seq)
	}
	order := newStreamOrder(after, missed, whole || replay != nil && replay.Error == nil && !replay.More)
	ready, err := json.Marshal(readyEvent{Name: c.key.Name, Unread: n, Replay: replay})
	if err != nil {
		return nil, fmt.Errorf("encode the ready event: %w", err)
	}
	c.wrote = true
	w := c.w
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // nginx: pass events on as they come
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	send := func(b []byte) bool {
		// A client that stops reading, or went without a word, would
		// hold this write for as long as TCP keeps its connection, which
		// a client that acknowledges with a window of 0 keeps for ever:
		// the stream, its goroutine and the name's use with it. A write
		// that cannot go out in time ends the stream instead.
		rc.SetWriteDeadline(time.Now().Add(s.streamWrite))
		if c.ctx.Err() != nil {
			return false // ended: cutWrite may have run before the deadline above
		}
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// A stream ended while its client does not take a write (it fell
	// behind, its key was revoked, the face is stopping) would wait in
	// that write until its deadline, keeping the stream, its connection
	// and the name's use, and a face's shutdown waiting for it: the
	// write is cut at once. The cut runs on its own goroutine, so it
	// must not land once the handler is done: net/http clears the
	// deadline then, and a cut after that would fail the next answer on
	// the connection.
	var cutting sync.Mutex
	ended := false
	stopCut := context.AfterFunc(c.ctx, func() {
		cutting.Lock()
		defer cutting.Unlock()
		if !ended {
			rc.SetWriteDeadline(time.Now())
		}
	})
	defer func() {
		stopCut()
		cutting.Lock()
		ended = true
		cutting.Unlock()
		// The stream's end, a few bytes, still goes to a client that
		// reads, so its connection serves its next request; one that
		// does not read is cut within endGrace.
		rc.SetWriteDeadline(time.Now().Add(streamEndGrace))
	}()
	if !send(sseEvent("ready", "", ready)) {
		return nil, nil
	}
	for _, m := range missed {
		if !send(sseEvent("message", m.id, m.data)) {
			return nil, nil
		}
	}
	read := func(after, upto uint64) ([]ipcmesh.Message, error) { return s.unreadAfter(c, after, upto) }
	ping := time.NewTicker(s.ping)
	defer ping.Stop()
	for {
		select {
		case <-c.ctx.Done():
			s.log.Debug("event stream ended", "name", c.key.Name, "key_id", c.key.ID, "why", context.Cause(c.ctx))
			return nil, nil
		case <-ping.C:
			if !send([]byte(": ping\n\n")) {
				return nil, nil
			}
		case m := <-c.use.events:
			evs, err := order.next(drain([]pushed{m}, c.use.events), read)
			if err != nil {
				if c.ctx.Err() != nil {
					return nil, nil
				}
				// The pushes go as they came, sorted: the next wake
				// reads the inbox again.
				s.log.Debug("an event stream could not read the inbox; it sends the pushes as they are", "name", c.key.Name, "key_id", c.key.ID, "err", err)
			}
			for _, e := range evs {
				if !send(sseEvent("message", e.id, e.data)) {
					return nil, nil
				}
			}
		}
	}
}

// sseEvent formats one event. data is compact JSON: one line, so one data
// field carries it.
func sseEvent(name, id string, data []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "event: %s\n", name)
	if id != "" && !bytes.ContainsAny([]byte(id), "\r\n") {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	b.WriteString("data: ")
	b.Write(data)
	b.WriteString("\n\n")
	return b.Bytes()
}
