package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/restclient"
)

// httpFloodRun is what one repetition of (h) over HTTP saw.
type httpFloodRun struct {
	idle, peak float64 // the face's RSS, MiB, before and at the end
	fds        int     // the face's open descriptors once the flood is open
	na         bool    // RSS and descriptors cannot be read here
	held       int     // the flood's connections opened and left idle
	refused    int     // its connections whose dial or GET /health failed
	why        string  // the first such failure
	reqs       []float64
	failed     int    // the key holder's requests that failed
	whyReq     string // the first such failure
}

// figHHTTP: the bench process opens connections to the face that show no
// key, each left idle after a GET /health (which needs none), more than the
// face holds, as anyone who can reach it can; meanwhile a key holder asks
// for /api/v1/me on a new connection every 50 ms. The figures are the
// face's memory and descriptors, and what the key holder feels.
func (r *runner) figHHTTP(ctx context.Context, res *results) error {
	for rep := range r.opts.Reps {
		run, err := r.httpFlood(ctx)
		if err != nil {
			return err
		}
		if run.na {
			for _, id := range []string{"h.http", "h.http.fds"} {
				res.na[id] = true
				res.note(id, "n/a: read from /proc/PID (VmHWM, fd) on linux only")
			}
		} else {
			res.add("h.http", run.peak)
			res.add("h.http.fds", float64(run.fds))
			refused := ""
			if run.refused > 0 {
				refused = fmt.Sprintf("; %d more failed, the first with %q", run.refused, run.why)
			}
			res.note("h.http", "VmHWM of %s once the bench process has opened %d connections to the face one after another (4 at a time), each idle after a GET /health, which needs no key%s; before the flood it peaked at %.1f MiB",
				r.faceChild(), run.held, refused, run.idle)
			res.note("h.http.fds", "open descriptors of that process (/proc/PID/fd) at that moment, its listeners, store and peers included: the face holds at most 1,024 connections that have shown no valid key, and closes the oldest for each new one")
		}
		failed := ""
		if run.failed > 0 {
			failed = fmt.Sprintf("; %d failed, the first with %q", run.failed, run.whyReq)
		}
		res.add("h.http.req", percentile(run.reqs, 50))
		res.add("h.http.req99", percentile(run.reqs, 100))
		res.note("h.http.req", "a GET /api/v1/me with a key, on a new connection, every 50 ms while the flood opens and once after it: %d answered in the last repetition%s", len(run.reqs), failed)
		r.logf("(h) HTTP repetition %d/%d: %d connections without a key; face peak %.1f MiB, %d descriptors; a key holder's request p50 %.3f ms, worst %.3f ms, %d failed",
			rep+1, r.opts.Reps, run.held, run.peak, run.fds, percentile(run.reqs, 50), percentile(run.reqs, 100), run.failed)
	}
	return nil
}

func (r *runner) httpFlood(ctx context.Context) (httpFloodRun, error) {
	var run httpFloodRun
	f, err := r.faceMesh(ctx, "h-http")
	if err != nil {
		return run, err
	}
	defer f.close()
	key, err := f.m.keyFor(ctx, "holder")
	if err != nil {
		return run, err
	}
	pid := f.pid()
	if run.idle, err = mebibytes(peakRSS, pid); errors.Is(err, errNA) {
		run.na = true
	} else if err != nil {
		return run, err
	}
	host := strings.TrimPrefix(f.url, "http://")

	var (
		mu      sync.Mutex
		conns   []net.Conn
		next    atomic.Int64
		refused atomic.Int64
		why     atomic.Pointer[string]
		wg      sync.WaitGroup
	)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range floodWorkers {
		wg.Go(func() {
			for ctx.Err() == nil && next.Add(1) <= int64(r.sz.floodIdle) {
				c, err := idleAfterHealth(ctx, host)
				if err != nil {
					refused.Add(1)
					msg := err.Error()
					why.CompareAndSwap(nil, &msg)
					continue
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	flooded := make(chan struct{})
	go func() {
		wg.Wait()
		close(flooded)
	}()

	// The key holder's client keeps no connection: each request is a new
	// one, as a client's first is.
	holder := restclient.New(f.url, key, 0)
	ask := func() {
		start := time.Now()
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := holder.Call(actx, "GET", "/api/v1/me", nil, nil)
		cancel()
		if err != nil {
			if run.failed == 0 {
				run.whyReq = err.Error()
			}
			run.failed++
			return
		}
		run.reqs = append(run.reqs, ms(time.Since(start)))
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for open := true; open; {
		select {
		case <-flooded:
			open = false
		case <-tick.C:
			ask()
		case <-ctx.Done():
			<-flooded
			return run, ctx.Err()
		}
	}
	ask()
	run.held, run.refused = len(conns), int(refused.Load())
	if w := why.Load(); w != nil {
		run.why = *w
	}
	if len(run.reqs) == 0 {
		return run, fmt.Errorf("a key holder's requests during the flood all failed, the first with %q", run.whyReq)
	}
	if run.na {
		return run, nil
	}
	if run.fds, err = openFDs(pid); err != nil {
		return run, err
	}
	run.peak, err = mebibytes(peakRSS, pid)
	return run, err
}

// idleAfterHealth opens a connection to the face at host, has a GET
// /health answered on it, and leaves it open.
func idleAfterHealth(ctx context.Context, host string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /health HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET /health: %s", resp.Status)
		}
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
