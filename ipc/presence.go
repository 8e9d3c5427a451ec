package ipc

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// presence tracks which connections act as which name, when each name was
// last seen, and who is waiting for mail. It is the broker's only in-memory
// view of identity; the store holds the rest.
type presence struct {
	mu      sync.Mutex
	online  map[string]map[*conn]struct{}
	seen    map[string]time.Time // not yet written to the store
	waiters map[string]*wakeup   // by name: checks waiting for its mail
	threads map[string]*wakeup
	waiting atomic.Int64 // requests held open in waitFor
}

// wakeup is the channel that wakes the waiters for a thread's next message,
// or for a name's next mail, counted so that the last waiter to give up
// removes it: threads and names are many, and one nobody waits on must not
// stay in memory.
type wakeup struct {
	ch chan struct{}
	n  int
}

func (p *presence) init() {
	p.online = make(map[string]map[*conn]struct{})
	p.seen = make(map[string]time.Time)
	p.waiters = make(map[string]*wakeup)
	p.threads = make(map[string]*wakeup)
}

// wants is what a connection asks for when it binds to a name.
type wants struct {
	subscribe bool   // pushed events
	keepsKeys bool   // a revoke of the name's keys waits for its key_seen
	holder    string // the process that claims the name (RegisterRequest.Holder)
}

func wantsOf(subscribe, keepsKeys bool, holder string) wants {
	return wants{subscribe: subscribe, keepsKeys: subscribe && keepsKeys, holder: holder}
}

// bind makes c act as name, with what w asks for.
func (p *presence) bind(c *conn, name string, w wants, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := c.name; old != "" && old != name {
		p.unbindLocked(c, old)
	}
	c.name = name
	c.subscribed = w.subscribe
	c.holder = w.holder
	c.keepsKeys.Store(w.keepsKeys)
	set := p.online[name]
	if set == nil {
		set = make(map[*conn]struct{})
		p.online[name] = set
	}
	set[c] = struct{}{}
	p.seen[name] = now
}

func (p *presence) unbindLocked(c *conn, name string) {
	if set := p.online[name]; set != nil {
		delete(set, c)
		if len(set) == 0 {
			delete(p.online, name)
		}
	}
}

// unbind detaches c from its name and returns the name it had.
func (p *presence) unbind(c *conn) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	name := c.name
	if name != "" {
		p.unbindLocked(c, name)
		c.name = ""
	}
	return name
}

// unbindAll detaches every connection acting as name.
func (p *presence) unbindAll(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.online[name] {
		c.name = ""
		c.subscribed = false
		c.keepsKeys.Store(false)
	}
	delete(p.online, name)
}

// move rebinds every connection of old to new, for a rename.
func (p *presence) move(old, new string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.online[old] {
		c.name = new
		set := p.online[new]
		if set == nil {
			set = make(map[*conn]struct{})
			p.online[new] = set
		}
		set[c] = struct{}{}
	}
	delete(p.online, old)
	delete(p.seen, old)
}

// nameOf returns the name c acts as, "" before register or resume.
func (p *presence) nameOf(c *conn) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return c.name
}

// heldByAnother reports whether a connection other than c acts as name
// for a process that claims it under another holder than holder.
func (p *presence) heldByAnother(name, holder string, c *conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for o := range p.online[name] {
		if o != c && o.holder != "" && o.holder != holder {
			return true
		}
	}
	return false
}

func (p *presence) isOnline(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.online[name]) > 0
}

// names returns every online name, sorted.
func (p *presence) names() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.online))
	for n := range p.online {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// subscribers returns the connections of name that asked for pushes.
func (p *presence) subscribers(name string) []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*conn
	for c := range p.online[name] {
		if c.subscribed {
			out = append(out, c)
		}
	}
	return out
}

// allSubscribers returns every connection that asked for pushes.
func (p *presence) allSubscribers() []*conn {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*conn
	for _, set := range p.online {
		for c := range set {
			if c.subscribed {
				out = append(out, c)
			}
		}
	}
	return out
}

func (p *presence) markSeen(name string, now time.Time) {
	p.mu.Lock()
	p.seen[name] = now
	p.mu.Unlock()
}

// lastSeen returns the last-seen times not yet written to the store.
func (p *presence) lastSeen() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]time.Time, len(p.seen))
	for n, t := range p.seen {
		out[n] = t
	}
	return out
}

// takeSeen returns the pending last-seen times and forgets them.
func (p *presence) takeSeen() map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.seen
	p.seen = make(map[string]time.Time)
	return out
}

// mailbox returns a channel that is closed the next time mail arrives for
// name, and a release to call when the caller stops waiting for it. Taking
// it before reading the inbox closes the race with a message that lands in
// between. Released by its last taker, the channel is forgotten: every name
// that ever checked its mail would otherwise keep one until its next
// message, which a name gone for good never gets.
func (p *presence) mailbox(name string) (<-chan struct{}, func()) {
	return p.take(p.waiters, name)
}

// notify wakes everyone waiting for name's mail.
func (p *presence) notify(name string) {
	p.wake(p.waiters, name)
}

// take counts a waiter on the channel of key in m, made if need be, and
// returns it with the release that uncounts the waiter; the last release
// removes the channel.
func (p *presence) take(m map[string]*wakeup, key string) (<-chan struct{}, func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := m[key]
	if w == nil {
		w = &wakeup{ch: make(chan struct{})}
		m[key] = w
	}
	w.n++
	return w.ch, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		w.n--
		if w.n == 0 && m[key] == w {
			delete(m, key)
		}
	}
}

// wake closes the channel of key in m, waking its waiters.
func (p *presence) wake(m map[string]*wakeup, key string) {
	p.mu.Lock()
	w := m[key]
	delete(m, key)
	p.mu.Unlock()
	if w != nil {
		close(w.ch)
	}
}

// waitFor blocks until ch is closed, d passes, ctx ends or quit closes. It
// reports whether mail may have arrived, and whether the wait was cut short.
// While it blocks it counts in waiting, which status reports.
func (p *presence) waitFor(ctx context.Context, ch <-chan struct{}, d time.Duration, quit <-chan struct{}) (woken bool, aborted bool) {
	p.waiting.Add(1)
	defer p.waiting.Add(-1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true, false
	case <-t.C:
		return false, false
	case <-ctx.Done():
		return false, true
	case <-quit:
		return false, true
	}
}

// threadWaiter returns a channel that is closed the next time a message of
// thread is stored, and a release to call when the caller stops waiting.
// Taking it before reading the thread closes the race with a reply that
// lands in between.
func (p *presence) threadWaiter(thread string) (<-chan struct{}, func()) {
	return p.take(p.threads, thread)
}

// notifyThread wakes everyone waiting for a message of thread.
func (p *presence) notifyThread(thread string) {
	p.wake(p.threads, thread)
}

// threadWaiting counts the requests waiting for a thread's next message.
func (p *presence) threadWaiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, w := range p.threads {
		n += w.n
	}
	return n
}
