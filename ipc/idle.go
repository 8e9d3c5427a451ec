package ipc

import (
	"sync"
	"time"
)

// idleTimer closes its channel once the broker has had no authenticated
// connection for timeout. Connections that have not proved the secret do
// not count: a flood of them must not keep a broker alive.
type idleTimer struct {
	timeout time.Duration
	ch      chan struct{}

	mu    sync.Mutex
	peers int
	timer *time.Timer
	fired bool
}

func newIdleTimer(timeout time.Duration) *idleTimer {
	return &idleTimer{timeout: timeout, ch: make(chan struct{})}
}

// start arms the timer when the broker begins to serve.
func (t *idleTimer) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.arm()
}

// join counts an authenticated connection; leave uncounts it.
func (t *idleTimer) join() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers++
	if t.timer != nil {
		t.timer.Stop()
	}
}

func (t *idleTimer) leave() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peers--
	t.arm()
}

// arm starts the countdown if nobody is connected; t.mu is held.
func (t *idleTimer) arm() {
	if t.timeout <= 0 || t.peers > 0 || t.fired {
		return
	}
	if t.timer == nil {
		t.timer = time.AfterFunc(t.timeout, t.fire)
		return
	}
	t.timer.Reset(t.timeout)
}

// fire closes the channel unless a connection arrived meanwhile: a timer
// stopped too late still runs, and finds the count above zero.
func (t *idleTimer) fire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.peers == 0 && !t.fired {
		t.fired = true
		close(t.ch)
	}
}

// Idle is closed once the broker has had no authenticated connection for
// Config.IdleTimeout, counted from Serve or from the last one leaving. It
// is never closed when IdleTimeout is 0.
func (b *Broker) Idle() <-chan struct{} { return b.idle.ch }
