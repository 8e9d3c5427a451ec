package ipc

import (
	"sync"
	"time"
)

// quiet lets a warning that a flood can repeat through at most once per
// interval, and counts those it holds back meanwhile. Each refused
// handshake was one warning in broker.log: a process hammering the port
// with wrong proofs (up to the 100 a second the hello budget lets that
// far) wrote some 10 KB of it a second, for as long as the broker ran,
// which now that the log is capped would push every other line out of
// it within minutes.
type quiet struct {
	every time.Duration

	mu   sync.Mutex
	next time.Time // when the next warning is let through
	held int       // warnings held back since the last one let through
}

// pass reports whether the warning due at now is logged, and how many
// were held back since the last one that was.
func (q *quiet) pass(now time.Time) (bool, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if now.Before(q.next) {
		q.held++
		return false, 0
	}
	held := q.held
	q.held, q.next = 0, now.Add(q.every)
	return true, held
}
