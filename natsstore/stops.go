package natsstore

import (
	"context"
	"errors"
	"sync"
	"time"
)

// A broker's process may not run for a while: stopped with SIGSTOP or
// Ctrl-Z while a write waited for the cluster. As it runs again its
// timers fire late, all at once, and the write finds its time up,
// whatever the cluster did meanwhile: the cluster may have stored the
// event, the body or the name long before, its answer unread in the
// connection. Told unavailable, the person heard that the cluster had no
// quorum and that nothing was stored, of a message that was delivered or
// a name that was held. So a request to the cluster whose time ran out
// while the process did not run is made once more once it runs, for a
// short while: a cluster that is whole answers it at once, with what it
// holds; one without quorum still does not, and is said to have none.
//
// A host asleep is not such a stop: the clock Go's timers and time.Since
// read stands still while it sleeps, so a write's time does not run out
// in its sleep.

// stallSlack is how much later than it was due a wait may end before
// this process is taken not to have run meanwhile.
const stallSlack = time.Second

// stallGrace is how long, once this process runs again, a request whose
// time ran out while it did not run tries on: long enough for a whole
// cluster to answer the tries made before the stop and the one after it,
// short enough that a cluster without quorum is still told within what
// the broker's peers wait.
const stallGrace = 2 * time.Second

// stops records the last stop of this process that a wait noticed.
type stops struct {
	mu sync.Mutex
	// The process did not run from from until to: from is the earliest
	// time a wait that noticed the stop was due to end, to when the
	// last of them did.
	from, to time.Time
}

// ended notes the end, now, of a wait that was due to end by due: one
// that ends far later was held up by a stop of this process.
func (st *stops) ended(due time.Time) {
	now := time.Now()
	if now.Sub(due) <= stallSlack {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if now.Sub(st.to) > stallSlack {
		// Another stop than the one noted last: the waits that end as
		// the process runs again notice the same one within a moment.
		st.from, st.to = due, now
		return
	}
	if due.Before(st.from) {
		st.from = due
	}
	st.to = now
}

// endedBy notes the end, now, of a wait bounded by ctx.
func (st *stops) endedBy(ctx context.Context) {
	if d, ok := ctx.Deadline(); ok {
		st.ended(d)
	}
}

// pause waits for d, or until ctx ends, and notes the wait.
func (st *stops) pause(ctx context.Context, d time.Duration) {
	due := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(due) {
		due = dl
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	st.ended(due)
}

// secondChance reports until when a request made under ctx from began,
// which failed unanswered, is made once more: grace after the last stop
// noticed ended, if that stop ended after the request began (a wait of
// its own, or of another request, found the process stopped in it), or
// if ctx's time ran out in it (the time of a request, such as a
// register, that an earlier step used up in the stop: it takes the name,
// then stores the session, within one time). There is none once that
// is past, nor beyond the log's duplicate window after the request
// began, past which an event published again is stored twice.
func (st *stops) secondChance(ctx context.Context, began time.Time, grace time.Duration) (time.Time, bool) {
	st.mu.Lock()
	from, to := st.from, st.to
	st.mu.Unlock()
	if to.IsZero() {
		return time.Time{}, false
	}
	d, bounded := ctx.Deadline()
	inStop := to.After(began) || bounded && ctx.Err() != nil && !d.Before(from)
	until := to.Add(grace)
	return until, inStop && time.Now().Before(until) && until.Sub(began) <= duplicateWindow
}

// rideOutStop makes one request of a write to the cluster: try, under
// ctx, for up to timeout. Should it fail unanswered after this process
// did not run for a while, it is made once more, until grace after the
// process ran again (secondChance), and the second answer stands: a
// cluster without quorum is still refused. try must be one the cluster
// takes twice as once: a publish under the same id, the upload of the
// same object, the take of a name this host then holds. The waits of try
// note themselves in s.stops, and so does its whole time here.
//
// rideOutStop returns the context what follows the request runs under:
// ctx, or, when ctx's time ran out in the stop, one with its values and
// its cancel that lasts until the second try's end; release it once done.
func (s *Store) rideOutStop(ctx context.Context, timeout, grace time.Duration, try func(context.Context) error) (_ context.Context, release context.CancelFunc, _ error) {
	began := time.Now()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	err := try(tctx)
	s.stops.endedBy(tctx)
	cancel()
	if err == nil || !retryable(err) || errors.Is(ctx.Err(), context.Canceled) {
		return ctx, func() {}, err
	}
	until, ok := s.stops.secondChance(ctx, began, grace)
	if !ok {
		return ctx, func() {}, err
	}
	octx, release := outlast(ctx, until)
	tctx, cancel = context.WithDeadline(octx, until)
	err = try(tctx)
	cancel()
	return octx, release, err
}

// outlast returns a context with ctx's values that ends with ctx's
// cancel, or at ctx's deadline or until, whichever is later.
func outlast(ctx context.Context, until time.Time) (context.Context, context.CancelFunc) {
	if d, ok := ctx.Deadline(); !ok || !d.Before(until) {
		return ctx, func() {}
	}
	octx, cancel := context.WithDeadline(context.WithoutCancel(ctx), until)
	stop := context.AfterFunc(ctx, func() {
		if errors.Is(ctx.Err(), context.Canceled) {
			cancel()
		}
	})
	return octx, func() { stop(); cancel() }
}
