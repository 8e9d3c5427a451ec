package auth

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// clock is a hand-stepped time source for a Limiter.
type clock struct{ t time.Time }

func (c *clock) now() time.Time       { return c.t }
func (c *clock) step(d time.Duration) { c.t = c.t.Add(d) }
func newTestLimiter(perSecond float64, burst int) (*Limiter, *clock) {
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(perSecond, burst)
	l.now = c.now
	return l, c
}

func TestLimiterBurstThenRefuse(t *testing.T) {
	l, c := newTestLimiter(2, 3) // one token every 500ms
	for i := range 3 {
		if ok, _ := l.Allow("a"); !ok {
			t.Fatalf("event %d of the burst refused", i+1)
		}
	}
	ok, retry := l.Allow("a")
	if ok {
		t.Fatal("event past the burst allowed")
	}
	if retry != 500*time.Millisecond {
		t.Errorf("retryAfter = %v, want 500ms", retry)
	}
	// A refused event costs nothing: after retryAfter exactly one more passes.
	c.step(retry - time.Millisecond)
	if ok, retry := l.Allow("a"); ok || retry != time.Millisecond {
		t.Errorf("just before retryAfter: ok=%v retryAfter=%v, want false, 1ms", ok, retry)
	}
	c.step(time.Millisecond)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("event after retryAfter refused")
	}
	if ok, retry := l.Allow("a"); ok || retry <= 0 {
		t.Errorf("second event after retryAfter: ok=%v retryAfter=%v, want refused with a positive wait", ok, retry)
	}
}

func TestLimiterKeysIndependent(t *testing.T) {
	l, _ := newTestLimiter(1, 1)
	if ok, _ := l.Allow("a"); !ok {
		t.Fatal("first event of a refused")
	}
	if ok, _ := l.Allow("a"); ok {
		t.Fatal("second event of a allowed")
	}
	if ok, _ := l.Allow("b"); !ok {
		t.Error("b refused because a spent its budget")
	}
}

func TestLimiterUnlimited(t *testing.T) {
	for _, l := range []*Limiter{NewLimiter(0, 1), NewLimiter(-1, 0), nil, {}} {
		for i := range 10000 {
			if ok, retry := l.Allow("a"); !ok || retry != 0 {
				t.Fatalf("event %d: ok=%v retryAfter=%v, want unlimited", i, ok, retry)
			}
		}
	}
}

func TestLimiterZeroBurst(t *testing.T) {
	l, _ := newTestLimiter(1, 0)
	if ok, _ := l.Allow("a"); !ok {
		t.Error("burst 0 refused the first event; it should act as burst 1")
	}
}

func TestLimiterEviction(t *testing.T) {
	l, c := newTestLimiter(10, 2) // a bucket refills within 200ms
	// Many distinct keys at once: none may be dropped yet, since each has
	// spent a token and dropping it would forget that.
	for i := range 5000 {
		l.Allow(fmt.Sprint("burst-", i))
	}
	if got := len(l.buckets); got != 5000 {
		t.Fatalf("%d buckets, want 5000 (all still in use)", got)
	}
	// An exhausted key survives sweeps while it is still limited.
	l.Allow("hog")
	l.Allow("hog")
	c.step(time.Minute)
	l.Allow("x")
	if got := len(l.buckets); got > 2 {
		t.Errorf("after the buckets refilled, %d remain, want at most 2", got)
	}
	l.Allow("hog")
	l.Allow("hog")
	c.step(50 * time.Millisecond)
	for i := range minSweepSize * 2 {
		l.Allow(fmt.Sprint("spray-", i))
	}
	if ok, _ := l.Allow("hog"); ok {
		t.Error("a sweep forgot that hog had spent its budget")
	}

	// A steady stream of distinct keys stays bounded by the keys still
	// refilling: here 1 event per ms, each bucket full again after 100ms.
	l, c = newTestLimiter(10, 1)
	peak := 0
	for i := range 100_000 {
		l.Allow(fmt.Sprint("stream-", i))
		c.step(time.Millisecond)
		peak = max(peak, len(l.buckets))
	}
	if peak > 2*minSweepSize {
		t.Errorf("a stream of distinct keys grew the map to %d buckets, want at most %d", peak, 2*minSweepSize)
	}
}

func TestLimiterConcurrent(t *testing.T) {
	l := NewLimiter(1e-3, 100) // practically no refill during the test
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
	)
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				ok, _ := l.Allow("shared")
				l.Allow(fmt.Sprint(g, "-", i))
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 {
		t.Errorf("%d events allowed on one key, want the burst of 100", allowed)
	}
}

func BenchmarkLimiterAllow(b *testing.B) {
	l := NewLimiter(1e9, 1<<30)
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("instance-", i)
	}
	i := 0
	for b.Loop() {
		l.Allow(keys[i%len(keys)])
		i++
	}
}
