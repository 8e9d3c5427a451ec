package election

import (
	"encoding/json"
	"sync"
)

// recent is a bounded set of ids, oldest forgotten first. Delivery is
// at-least-once, so a message can come twice (pushed again by the next
// broker, or returned again when an ack died with the last one); these sets
// let the peer hand it to its user once.
type recent struct {
	pushed idSet // message ids passed to OnEvent
	acked  idSet // message ids this peer acked
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
func messageID(body json.RawMessage) string {
	var m struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	return m.ID
}
