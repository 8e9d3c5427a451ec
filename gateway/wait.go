package gateway

import (
	"context"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// A check that waits for mail (REST's ?wait=, the MCP check tool's
// wait_seconds) is woken by the push the name's peer receives, which the
// broker makes as soon as the message's commit has decided it, before its
// fsync: the same moment a subscribed peer hears of it. So the reader has
// the message about as soon as its sender's commit is under way, rather
// than after it and a second read of the store.

// mailWaiter is one check waiting for the name's next pushed messages.
type mailWaiter struct {
	wake chan struct{}     // has a value once msgs grew or the inbox must be read again
	msgs []ipcmesh.Message // pushed since the waiter was added; guarded by m.mu
}

func (sess *session) addWaiter() *mailWaiter {
	w := &mailWaiter{wake: make(chan struct{}, 1)}
	sess.m.mu.Lock()
	defer sess.m.mu.Unlock()
	if sess.waiters == nil {
		sess.waiters = map[*mailWaiter]bool{}
	}
	sess.waiters[w] = true
	return w
}

func (sess *session) dropWaiter(w *mailWaiter) {
	sess.m.mu.Lock()
	defer sess.m.mu.Unlock()
	delete(sess.waiters, w)
}

// take returns up to limit of the messages pushed to w, and how many more
// were pushed.
func (sess *session) take(w *mailWaiter, limit int) ([]ipcmesh.Message, int) {
	sess.m.mu.Lock()
	defer sess.m.mu.Unlock()
	msgs := w.msgs
	w.msgs = nil
	if limit > 0 && len(msgs) > limit {
		return msgs[:limit], len(msgs) - limit
	}
	return msgs, 0
}

// pushedLocked hands a pushed message to every waiting check. m.mu is
// held.
func (sess *session) pushedLocked(msg ipcmesh.Message) {
	for w := range sess.waiters {
		w.msgs = append(w.msgs, msg)
		signal(w.wake)
	}
}

// wakeWaiters makes every waiting check read the inbox again.
func (sess *session) wakeWaiters() {
	sess.m.mu.Lock()
	defer sess.m.mu.Unlock()
	for w := range sess.waiters {
		signal(w.wake)
	}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// waitForMail returns up to limit of the name's unread messages, oldest
// first, waiting up to wait for some to be pushed when there are none.
// Nothing is marked read. The waiter is added before the inbox is read,
// so a message pushed in between is not missed; one pushed before is in
// the inbox, since a read waits for the commit under way.
func (sess *session) waitForMail(ctx context.Context, limit int, wait time.Duration) (ipc.CheckResult, error) {
	p := sess.peer
	if wait <= 0 {
		return p.Check(ctx, limit, 0)
	}
	w := sess.addWaiter()
	defer sess.dropWaiter(w)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		r, err := p.Check(ctx, limit, 0)
		if err != nil || len(r.Messages) > 0 {
			return r, err
		}
		select {
		case <-w.wake:
		case <-timer.C:
			return r, nil
		case <-ctx.Done():
			return r, ctx.Err()
		}
		if msgs, more := sess.take(w, limit); len(msgs) > 0 {
			return ipc.CheckResult{Messages: msgs, Remaining: more}, nil
		}
		// Woken with nothing: the connection was made anew, and a push
		// may have been missed meanwhile.
	}
}
