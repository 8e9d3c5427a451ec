package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// floodWorkers is how many goroutines open and close connections in (h).
const floodWorkers = 4

// floodRun is what one repetition of (h) saw.
type floodRun struct {
	peak, after, idle float64 // broker RSS, MiB; 0 where it cannot be read
	rssNA             bool
	rtts, joins       []float64 // ms
	opened, held      int       // connections opened and closed; idle ones held
	refused           int       // dials that failed
	why               string    // the first dial's failure
}

// figH: the bench process floods the broker child with connections that
// never send a hello, as any local process can without the secret: some
// opened and closed at once, as fast as a few goroutines can, and idle
// ones, more than the broker keeps in the handshake. The figures are the
// broker's memory and what peers feel meanwhile: the round trip of a peer
// connected before the flood, and the time a new peer takes to join.
func (r *runner) figH(ctx context.Context, res *results) error {
	for rep := range r.opts.Reps {
		run, err := r.flood(ctx)
		if err != nil {
			return err
		}
		if run.rssNA {
			res.na["h"], res.na["h.after"] = true, true
			res.note("h", "n/a: the RSS is read from /proc/PID/status (VmHWM, VmRSS) on linux only")
		} else {
			res.add("h", run.peak)
			res.add("h.after", run.after)
			refused := ""
			if run.refused > 0 {
				refused = fmt.Sprintf(", %d dials failed, the first with %q", run.refused, run.why)
			}
			res.note("h", "VmHWM of the broker child after the flood; meanwhile the bench process also held %d idle connections that never sent a byte (the broker keeps at most 256 in the handshake and closes the oldest)%s; an idle broker peaked at %.1f MiB",
				run.held, refused, run.idle)
			res.note("h.after", "VmRSS of the broker child once the flood has stopped and its idle connections are closed, read at once")
		}
		res.add("h.rate", float64(run.opened)/r.sz.floodFor.Seconds())
		res.note("h.rate", "%d goroutines of the bench process open connections to the broker child and close them at once, as fast as they can, for %s; the flood is as strong as the machine lets it be, so compare other (h) figures at a like rate", floodWorkers, r.sz.floodFor)
		p50, p99 := percentile(run.rtts, 50), percentile(run.rtts, 99)
		res.add("h.rtt", p50)
		res.add("h.rtt99", p99)
		res.note("h.rtt", "a status request (one round trip, a read of the store) every 2 ms by a peer in the bench process connected before the flood, %d in the last repetition", len(run.rtts))
		worst := 0.0
		for _, j := range run.joins {
			worst = max(worst, j)
		}
		res.add("h.join", worst)
		res.note("h.join", "a new peer in the bench process joins every 100 ms during the flood (election.Join: the bind attempt, dial, handshake, then register); the worst of a repetition, %d joins in the last", len(run.joins))
		r.logf("(h) repetition %d/%d: %d connections opened and closed, %d idle held; peak %.1f MiB, after %.1f MiB; round trip p50 %.3f ms, p99 %.3f ms; worst join %.1f ms",
			rep+1, r.opts.Reps, run.opened, run.held, run.peak, run.after, p50, p99, worst)
	}
	return nil
}

func (r *runner) flood(ctx context.Context) (floodRun, error) {
	var run floodRun
	m, err := r.newMesh("h")
	if err != nil {
		return run, err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return run, err
	}
	pid := m.brokerPID()
	if run.idle, err = mebibytes(peakRSS, pid); errors.Is(err, errNA) {
		run.rssNA = true
	} else if err != nil {
		return run, err
	}
	probe, err := m.join(ctx, "probe", nil)
	if err != nil {
		return run, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(m.port))
	fctx, stop := context.WithTimeout(ctx, r.sz.floodFor)
	defer stop()

	var (
		wg      sync.WaitGroup
		opened  atomic.Int64
		refused atomic.Int64
		why     atomic.Pointer[string]
		idle    []net.Conn
	)
	// The flooders go by the clock, not by fctx: a dial past the end fails
	// at once, before fctx's timer may have fired, and is no refusal.
	end, _ := fctx.Deadline()
	d := net.Dialer{Deadline: end}
	failed := func(err error) {
		if time.Now().Before(end) {
			refused.Add(1)
			msg := err.Error()
			why.CompareAndSwap(nil, &msg)
		}
	}
	for range floodWorkers {
		wg.Go(func() {
			for time.Now().Before(end) {
				nc, err := d.Dial("tcp", addr)
				if err != nil {
					failed(err)
					continue
				}
				opened.Add(1)
				nc.Close()
			}
		})
	}
	wg.Go(func() {
		for len(idle) < r.sz.floodIdle && time.Now().Before(end) {
			nc, err := d.Dial("tcp", addr)
			if err != nil {
				failed(err)
				continue
			}
			idle = append(idle, nc)
		}
	})
	var (
		joinMu  sync.Mutex
		joinErr error
	)
	wg.Go(func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-fctx.Done():
				return
			case <-tick.C:
			}
			start := time.Now()
			p, err := m.join(ctx, "joiner"+strconv.Itoa(i), nil)
			joinMu.Lock()
			if err != nil {
				if joinErr == nil {
					joinErr = fmt.Errorf("a peer joining during the flood: %w", err)
				}
				joinMu.Unlock()
				return
			}
			run.joins = append(run.joins, ms(time.Since(start)))
			joinMu.Unlock()
			p.Close()
		}
	})
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	var probeErr error
	for fctx.Err() == nil {
		start := time.Now()
		if _, err := probe.Status(ctx); err != nil {
			probeErr = fmt.Errorf("a peer's status during the flood: %w", err)
			break
		}
		run.rtts = append(run.rtts, ms(time.Since(start)))
		select {
		case <-fctx.Done():
		case <-tick.C:
		}
	}
	stop()
	wg.Wait()
	run.held = len(idle)
	for _, nc := range idle {
		nc.Close()
	}
	run.opened, run.refused = int(opened.Load()), int(refused.Load())
	if w := why.Load(); w != nil {
		run.why = *w
	}
	if err := errors.Join(probeErr, joinErr); err != nil {
		return run, err
	}
	if err := ctx.Err(); err != nil {
		return run, err
	}
	if run.rssNA {
		return run, nil
	}
	if run.peak, err = mebibytes(peakRSS, pid); err != nil {
		return run, err
	}
	run.after, err = mebibytes(residentRSS, pid)
	return run, err
}

// mebibytes reads a memory figure of process pid in MiB.
func mebibytes(read func(pid int) (int64, error), pid int) (float64, error) {
	b, err := read(pid)
	return float64(b) / (1 << 20), err
}
