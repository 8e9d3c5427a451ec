package gateway

import (
	"context"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A check that waits for mail (REST's ?wait=, the MCP check tool's
// wait_seconds) is woken by the push the name's peer receives, which the
// broker makes as soon as the message's commit has decided it, before its
// fsync: the same moment a subscribed peer hears of it. The check then
// reads the inbox, which holds the message by then (a read waits for the
// commit under way, or runs in its transaction), rather than waiting at
// the broker for the commit to be done.
//
// It answers what the read finds, not the messages pushed: the messages
// of one commit are pushed from their senders' goroutines, in any order,
// and a check answers the oldest unread mail first. An answer made of the
// pushes so far could hold a later post of a channel without an earlier
// post of the same commit, not pushed yet; the reader's ack of it moves
// its read cursor in the channel past the earlier post, which it would
// then never read.

// mailWaiter is one check waiting for the name's next pushed messages.
type mailWaiter struct {
	wake chan struct{} // has a value once mail was pushed or the inbox must be read again
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

// pushedLocked wakes every waiting check: mail was pushed. m.mu is held.
func (sess *session) pushedLocked() {
	for w := range sess.waiters {
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

// waitForMail returns up to req.Limit of the name's unread messages (only
// req.From's, if set), oldest first, waiting up to wait for some to be
// pushed when there are none. Nothing is marked read. The waiter is added
// before the inbox is read, so a message pushed in between is not missed;
// one pushed before is in the inbox, since a read waits for the commit
// under way.
func (sess *session) waitForMail(ctx context.Context, req ipc.CheckRequest, wait time.Duration) (ipc.CheckResult, error) {
	p := sess.peer
	req.WaitMS = 0
	if wait <= 0 {
		return p.CheckMail(ctx, req)
	}
	w := sess.addWaiter()
	defer sess.dropWaiter(w)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		r, err := p.CheckMail(ctx, req)
		if err != nil || len(r.Messages) > 0 {
			return r, err
		}
		// Woken, the inbox is read again: mail was pushed, or the
		// connection was made anew and a push may have been missed.
		// What was pushed may be gone by then (another reader of the
		// name acked it): the check waits on.
		select {
		case <-w.wake:
		case <-timer.C:
			return r, nil
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}
