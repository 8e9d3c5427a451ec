package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter is a set of token buckets, one per key (an instance name, a
// connection id). It is safe for concurrent use. A nil or zero Limiter
// allows everything.
//
// Memory stays bounded by the keys in use: a bucket that has refilled to full
// is dropped, which changes no decision because a new bucket starts full. The
// map is swept lazily from Allow, once a minute or when it has doubled since
// the last sweep, so the cost per Allow stays constant. At most it holds about
// twice the number of keys that spent a token within the last burst/perSecond
// seconds, or 1024 keys, whichever is more.
type Limiter struct {
	limit rate.Limit
	burst int
	// now is the clock; tests replace it to step time without sleeping.
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*rate.Limiter // nil means unlimited
	nextSweep time.Time
	sweepAt   int // sweep when the map reaches this size
}

const (
	sweepEvery   = time.Minute
	minSweepSize = 1024
)

// NewLimiter returns a Limiter that allows each key perSecond events a second
// on average and bursts of up to burst events. perSecond <= 0 (or +Inf, or
// NaN) means unlimited; a burst below 1 is taken as 1, since a bucket that
// holds no token would refuse everything forever.
func NewLimiter(perSecond float64, burst int) *Limiter {
	l := &Limiter{now: time.Now}
	if !(perSecond > 0) || math.IsInf(perSecond, 1) {
		return l
	}
	l.limit = rate.Limit(perSecond)
	l.burst = max(burst, 1)
	l.buckets = make(map[string]*rate.Limiter)
	l.sweepAt = minSweepSize
	return l
}

// Allow spends one event of key's budget. When the budget is spent it returns
// false and how long until one more event would be allowed; a refused event
// costs nothing.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil || l.buckets == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[key] = b
	}
	r := b.ReserveN(now, 1)
	if !r.OK() {
		// Unreachable with burst >= 1; refuse for the time one token takes.
		return false, l.tokenTime()
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return true, 0
	}
	r.CancelAt(now)
	return false, d
}

// tokenTime is how long one token takes to refill.
func (l *Limiter) tokenTime() time.Duration {
	return time.Duration(float64(time.Second) / float64(l.limit))
}

// sweep drops the buckets that are full again. l.mu must be held.
func (l *Limiter) sweep(now time.Time) {
	if len(l.buckets) < l.sweepAt && now.Before(l.nextSweep) {
		return
	}
	full := float64(l.burst)
	for key, b := range l.buckets {
		if b.TokensAt(now) >= full {
			delete(l.buckets, key)
		}
	}
	l.nextSweep = now.Add(sweepEvery)
	l.sweepAt = max(2*len(l.buckets), minSweepSize)
}
