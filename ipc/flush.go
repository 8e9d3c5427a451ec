package ipc

import (
	"context"
	"sync"
	"sync/atomic"
)

// flushes tells who waits for a queued frame when the writer has handed it
// to the kernel: a revocation is answered only once the connections it
// concerns have it on their way, so that whoever revoked cannot get ahead
// of the news.
type flushes struct {
	n  atomic.Uint64 // frames written and flushed so far
	mu sync.Mutex
	ch chan struct{} // closed at the next flush; nil while no one waits
}

// done records that the first n frames queued are flushed.
func (f *flushes) done(n uint64) {
	f.n.Store(n)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch != nil {
		close(f.ch)
		f.ch = nil
	}
}

// waitFlushed waits until the frame queued as seq (conn.send) is flushed,
// the connection's writer stops, or ctx ends; it reports whether the frame
// was flushed.
func (c *conn) waitFlushed(ctx context.Context, seq uint64) bool {
	if seq == 0 {
		return false
	}
	f := &c.flush
	for {
		f.mu.Lock()
		if f.n.Load() >= seq {
			f.mu.Unlock()
			return true
		}
		if f.ch == nil {
			f.ch = make(chan struct{})
		}
		ch := f.ch
		f.mu.Unlock()
		select {
		case <-ch:
		case <-c.written:
			return f.n.Load() >= seq
		case <-ctx.Done():
			return false
		}
	}
}
