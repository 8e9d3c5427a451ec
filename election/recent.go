package election

import (
	"bytes"
	"encoding/json"
	"sync"
)

// recent is a bounded set of ids, oldest forgotten first. Delivery is
// at-least-once, so a message can come twice (pushed again by the next
// broker, or returned again when an ack died with the last one); these sets
// let the peer hand it to its user once.
type recent struct {
	pushed idSet // message ids passed to OnEvent
	acked  idSet // message ids this peer acked, or asked a broker that did not answer to ack
}

func (r *recent) init(n int) {
	r.pushed = idSet{max: n, set: make(map[string]struct{})}
	r.acked = idSet{max: n, set: make(map[string]struct{})}
}

type idSet struct {
	mu    sync.Mutex
	max   int
	set   map[string]struct{}
	order []string
}

// add adds id and reports whether it was new.
func (s *idSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.set[id]; ok {
		return false
	}
	s.set[id] = struct{}{}
	s.order = append(s.order, id)
	if len(s.order) > s.max {
		delete(s.set, s.order[0])
		s.order = s.order[1:]
	}
	return true
}

func (s *idSet) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.set[id]
	return ok
}

// messageID pulls the id out of a pushed message without decoding it all.
// The broker writes a message with its id first, as json.Marshal lays out
// ipcmesh.Message, and an id is plain ASCII: such an id is read where it
// stands, sparing a scan of the whole message on every push (the frame's
// body was checked as JSON when it was read). Anything else is decoded.
func messageID(body json.RawMessage) string {
	if rest, ok := bytes.CutPrefix(body, []byte(`{"id":"`)); ok {
		for i, c := range rest {
			if c == '"' {
				return string(rest[:i])
			}
			if c == '\\' || c < 0x20 || c >= 0x80 {
				break
			}
		}
	}
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return m.ID
}
