package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// figF: the broker child's peak resident memory once many instances have
// connected, registered, sent and checked.
func (r *runner) figF(ctx context.Context, res *results) error {
	for rep := range r.opts.Reps {
		mib, idle, err := r.peakRSS(ctx)
		if errors.Is(err, errNA) {
			res.peakNA("f")
			return nil
		}
		if err != nil {
			return err
		}
		res.add("f", mib)
		res.note("f", "VmHWM of the broker child once %d subscribed instances (peers in the bench process, one connection each) registered, each sent one message and checked and acked its mail; an idle broker peaked at %.1f MiB", r.sz.instances, idle)
		r.logf("(f) repetition %d/%d: %.1f MiB (idle %.1f MiB)", rep+1, r.opts.Reps, mib, idle)
	}
	return nil
}

func (r *runner) peakRSS(ctx context.Context) (mib, idle float64, err error) {
	m, err := r.newMesh("f")
	if err != nil {
		return 0, 0, err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return 0, 0, err
	}
	b, err := peakRSS(m.brokerPID())
	if err != nil {
		return 0, 0, err
	}
	idle = float64(b) / (1 << 20)
	n := r.sz.instances
	peers := make([]*election.Peer, n)
	name := func(i int) string { return fmt.Sprintf("inst%03d", i%n) }
	if err := parallel(ctx, n, 10, func(i int) (err error) {
		peers[i], err = m.join(ctx, name(i), func(ipc.Event) {})
		return err
	}); err != nil {
		return 0, 0, err
	}
	if err := parallel(ctx, n, 10, func(i int) error {
		_, err := peers[i].Send(ctx, name(i+1), content("f:"+strconv.Itoa(i)))
		return err
	}); err != nil {
		return 0, 0, err
	}
	if err := parallel(ctx, n, 10, func(i int) error {
		c, err := peers[i].Check(ctx, 100, 0)
		if err != nil {
			return err
		}
		ids := make([]string, len(c.Messages))
		for j, msg := range c.Messages {
			ids[j] = msg.ID
		}
		_, err = peers[i].Ack(ctx, ids)
		return err
	}); err != nil {
		return 0, 0, err
	}
	b, err = peakRSS(m.brokerPID())
	return float64(b) / (1 << 20), idle, err
}

// parallel runs fn(0..n-1) on width goroutines and returns the first error.
func parallel(ctx context.Context, n, width int, fn func(i int) error) error {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		err  error
	)
	for range width {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if e := fn(i); e != nil {
					mu.Lock()
					if err == nil {
						err = e
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if err == nil {
		err = ctx.Err()
	}
	return err
}
