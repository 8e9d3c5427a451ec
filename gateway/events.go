package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// events serves GET /api/v1/events: a server-sent-events stream of the
// name's new messages. The stream's use was made with an events channel
// before this runs, so no message committed after the ready event's
// unread count can be missed. A client that reconnects with Last-Event-ID
// gets the unread messages after that one first (replay.go). The stream
// ends when the client goes, when its key is revoked, when it falls
// behind (the client reconnects and reads the rest with GET
// /api/v1/messages), when an event cannot be written to it within
// streamWriteTimeout, and when the face closes.
func (s *Server) events(c *call) (any, error) {
	n, err := unread(c.ctx, c.peer())
	if err != nil {
		return nil, err
	}
	replay, missed, err := s.replay(c)
	if err != nil {
		return nil, err
	}
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
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !send(sseEvent("ready", "", ready)) {
		return nil, nil
	}
	// A message committed after the subscription and before the replay
	// was read is in both: it goes once, in the replay.
	replayed := make(map[string]bool, len(missed))
	for _, m := range missed {
		if !send(sseEvent("message", m.id, m.data)) {
			return nil, nil
		}
		replayed[m.id] = true
	}
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
			if replayed[m.id] {
				continue
			}
			if !send(sseEvent("message", m.id, m.data)) {
				return nil, nil
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
