package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// httpGroups are figures (a), (b), (c), (f) and (h) through the HTTP face
// (--face http or broker): REST over real HTTP on loopback, with keys made
// by "ipcmesh key create", the face an "ipcmesh serve --http" child beside
// the broker child, or the broker child itself ("ipcmesh broker --http").
// They run after the native figures, under the same letters, so that
// --only picks both.
func (r *runner) httpGroups() []group {
	sz := r.sz
	le := func(v float64) *Target { return &Target{Op: "<=", Value: v} }
	return []group{
		{key: "a", title: "over HTTP: one REST sender, sequential acked sends", timeout: 5 * time.Minute, run: r.figAHTTP, rows: []row{
			{id: "a.http", name: "(a) HTTP: 1 sender, sequential acked sends", unit: "msgs/s"},
		}},
		{key: "b", title: fmt.Sprintf("over HTTP: %d REST senders, one send in flight each", sz.senders), timeout: 5 * time.Minute, run: r.figBHTTP, rows: []row{
			{id: "b.http", name: fmt.Sprintf("(b) HTTP: %d senders, 1 in flight each", sz.senders), unit: "msgs/s"},
		}},
		{key: "c", title: "over HTTP: round trip, each side reading with a waiting check", timeout: 5 * time.Minute, run: r.figCHTTP, rows: []row{
			{id: "c.http.p50", name: "(c) HTTP: round trip p50", unit: "ms", target: le(1)},
			{id: "c.http.p99", name: "(c) HTTP: round trip p99", unit: "ms"},
		}},
		{key: "f", title: fmt.Sprintf("over HTTP: face and broker peak RSS with %d names acting through the face", sz.instances), timeout: 5 * time.Minute, run: r.figFHTTP, rows: []row{
			{id: "f.http", name: fmt.Sprintf("(f) HTTP: face + broker peak RSS, %d names", sz.instances), unit: "MiB", judge: "max"},
		}},
		{key: "h", title: fmt.Sprintf("over HTTP: %d idle connections that show no key", sz.floodIdle), timeout: 5 * time.Minute, run: r.figHHTTP, rows: []row{
			{id: "h.http", name: "(h) HTTP: face peak RSS, idle connections without a key", unit: "MiB"},
			{id: "h.http.fds", name: "(h) HTTP: the face's open descriptors then", unit: "fds"},
			{id: "h.http.req", name: "(h) HTTP: a key holder's new request meanwhile, p50", unit: "ms"},
			{id: "h.http.req99", name: "(h) HTTP: the same, worst", unit: "ms"},
		}},
	}
}

// sinkFace is faceMesh with an online subscribed recipient, "sink", in
// this process, and the count of messages pushed to it.
func (r *runner) sinkFace(ctx context.Context, name string) (*face, *atomic.Int64, error) {
	f, err := r.faceMesh(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	_, pushed, err := startSink(ctx, f.m, "sink")
	if err != nil {
		f.close()
		return nil, nil, err
	}
	return f, pushed, nil
}

// figAHTTP: one REST client sends one message after another to an online
// subscribed recipient, each POST answered once its send is on disk.
func (r *runner) figAHTTP(ctx context.Context, res *results) error {
	f, pushed, err := r.sinkFace(ctx, "a-http")
	if err != nil {
		return err
	}
	defer f.close()
	cs, err := f.clients(ctx, "sender")
	if err != nil {
		return err
	}
	c := cs[0]
	sendN := func(tag string, n int) (time.Duration, error) {
		start := time.Now()
		for i := range n {
			if err := c.send(ctx, "sink", content(tag+":"+strconv.Itoa(i))); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	if _, err := sendN("warm", 20); err != nil {
		return err
	}
	total := 20
	for rep := range r.opts.Reps {
		took, err := sendN("a"+strconv.Itoa(rep), r.sz.sendsA)
		if err != nil {
			return err
		}
		total += r.sz.sendsA
		rate := float64(r.sz.sendsA) / took.Seconds()
		res.add("a.http", rate)
		r.logf("(a) HTTP repetition %d/%d: %.0f msgs/s", rep+1, r.opts.Reps, rate)
	}
	res.note("a.http", "%d POST /api/v1/messages per repetition from one HTTP client in the bench process (kept-alive connection, key from ipcmesh key create) through %s to an online subscribed recipient in the bench process; each answered once the send is on disk (on Linux after the fsync of its journal record, elsewhere after bbolt's synced commit); %d of %d sends had been pushed to the recipient when the last was answered",
		r.sz.sendsA, r.faceChild(), pushed.Load(), total)
	return nil
}

// figBHTTP: several REST clients, each its own name and key, send at once,
// each waiting for every answer before its next send.
func (r *runner) figBHTTP(ctx context.Context, res *results) error {
	f, pushed, err := r.sinkFace(ctx, "b-http")
	if err != nil {
		return err
	}
	defer f.close()
	names := make([]string, r.sz.senders)
	for i := range names {
		names[i] = fmt.Sprintf("sender%d", i)
	}
	clients, err := f.clients(ctx, names...)
	if err != nil {
		return err
	}
	round := func(tag string, n int) (time.Duration, error) {
		errs := make([]error, len(clients))
		var wg sync.WaitGroup
		start := time.Now()
		for i, c := range clients {
			wg.Go(func() {
				for j := range n {
					if err := c.send(ctx, "sink", content(fmt.Sprintf("%s:%d:%d", tag, i, j))); err != nil {
						errs[i] = err
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start), errors.Join(errs...)
	}
	if _, err := round("warm", 10); err != nil {
		return err
	}
	for rep := range r.opts.Reps {
		before := pushed.Load()
		took, err := round("b"+strconv.Itoa(rep), r.sz.sendsB)
		if err != nil {
			return err
		}
		n := len(clients) * r.sz.sendsB
		rate := float64(n) / took.Seconds()
		res.add("b.http", rate)
		r.logf("(b) HTTP repetition %d/%d: %.0f msgs/s (%d of %d pushed when the last was answered)", rep+1, r.opts.Reps, rate, pushed.Load()-before, n)
	}
	res.note("b.http", "%d HTTP clients in the bench process, each its own name and key, each sending %d messages one after another (one in flight each) to one online subscribed recipient; rate = all sends / time from the first POST to the last answer",
		len(clients), r.sz.sendsB)
	return nil
}

// figCHTTP: A sends to B over REST; B, reading with a waiting check, sends
// each message back; A's waiting check returns the answer. Both ack what
// they read, as a REST client does; the next round trip starts once both
// acks are answered, so that each is timed on a quiet mesh.
func (r *runner) figCHTTP(ctx context.Context, res *results) error {
	f, err := r.faceMesh(ctx, "c-http")
	if err != nil {
		return err
	}
	defer f.close()
	cs, err := f.clients(ctx, "ping", "pong")
	if err != nil {
		return err
	}
	a, b := cs[0], cs[1]
	for _, c := range cs {
		if err := c.call(ctx, "POST", "/api/v1/register", nil, nil); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type answer struct {
		content string
		at      time.Time
	}
	answers := make(chan answer, 16)
	acked := make(chan struct{}, 16) // one per batch B read and acked
	stopped := make(chan error, 2)
	go func() {
		for ctx.Err() == nil {
			err := b.read(ctx, 30*time.Second, func(_, content string) error { return b.send(ctx, "ping", content) })
			if err != nil {
				stopped <- fmt.Errorf("pong: %w", err)
				return
			}
			acked <- struct{}{}
		}
	}()
	go func() {
		for ctx.Err() == nil {
			var got []answer
			err := a.read(ctx, 30*time.Second, func(_, content string) error {
				got = append(got, answer{content, time.Now()})
				return nil
			})
			if err != nil {
				stopped <- fmt.Errorf("ping: %w", err)
				return
			}
			for _, g := range got {
				answers <- g
			}
		}
	}()
	ping := func(content string) (time.Duration, error) {
		start := time.Now()
		if err := a.send(ctx, "pong", content); err != nil {
			return 0, err
		}
		timeout := time.NewTimer(10 * time.Second)
		defer timeout.Stop()
		var took time.Duration
		for took == 0 {
			select {
			case g := <-answers:
				if g.content == content {
					took = g.at.Sub(start)
				}
			case err := <-stopped:
				return 0, err
			case <-timeout.C:
				return 0, fmt.Errorf("no answer to %s within 10 s: %s", content, f.stderr.String())
			}
		}
		// B has acked what it read once it reads again.
		select {
		case <-acked:
		case err := <-stopped:
			return 0, err
		case <-timeout.C:
			return 0, fmt.Errorf("pong did not ack %s within 10 s", content)
		}
		return took, nil
	}
	for i := range 20 {
		if _, err := ping(content("warm:" + strconv.Itoa(i))); err != nil {
			return err
		}
	}
	for rep := range r.opts.Reps {
		rtts := make([]float64, 0, r.sz.pings)
		for i := range r.sz.pings {
			d, err := ping(content(fmt.Sprintf("c%d:%d", rep, i)))
			if err != nil {
				return err
			}
			rtts = append(rtts, ms(d))
		}
		p50, p99 := percentile(rtts, 50), percentile(rtts, 99)
		res.add("c.http.p50", p50)
		res.add("c.http.p99", p99)
		r.logf("(c) HTTP repetition %d/%d: p50 %.3f ms, p99 %.3f ms", rep+1, r.opts.Reps, p50, p99)
	}
	res.note("c.http.p50", "%d round trips per repetition, one at a time: A POSTs to B; B, in GET /api/v1/messages?wait=30s, gets it, POSTs it back and acks; A's waiting GET returns it (timed from A's POST to that answer; A's POST itself waits for its commit). Both are HTTP clients in the bench process, with keys from ipcmesh key create, through %s",
		r.sz.pings, r.faceChild())
	return nil
}

// faceChild names the process the HTTP figures go through, for the notes.
func (r *runner) faceChild() string {
	if r.opts.Face == FaceBroker {
		return "an ipcmesh broker --http child (broker and face in one process)"
	}
	return "an ipcmesh serve --http child beside the broker child"
}

// figFHTTP: the face's and the broker's peak resident memory once many
// names have each registered, sent, checked and acked through the face.
func (r *runner) figFHTTP(ctx context.Context, res *results) error {
	for rep := range r.opts.Reps {
		faceMiB, brokerMiB, err := r.peakRSSHTTP(ctx)
		if errors.Is(err, errNA) {
			res.peakNA("f.http")
			return nil
		}
		if err != nil {
			return err
		}
		res.add("f.http", faceMiB+brokerMiB)
		if r.opts.Face == FaceBroker {
			res.note("f.http", "VmHWM of the ipcmesh broker --http child, broker and face in one process, once %d names (a key each, from ipcmesh key create) each registered, sent one message, checked and acked through the face, 10 at a time", r.sz.instances)
			r.logf("(f) HTTP repetition %d/%d: broker and face %.1f MiB", rep+1, r.opts.Reps, faceMiB)
			continue
		}
		res.note("f.http", "VmHWM of the ipcmesh serve --http child plus that of the broker child, once %d names (a key each, from ipcmesh key create) each registered, sent one message, checked and acked through the face, 10 at a time; last repetition: face %.1f MiB, broker %.1f MiB", r.sz.instances, faceMiB, brokerMiB)
		r.logf("(f) HTTP repetition %d/%d: face %.1f MiB, broker %.1f MiB", rep+1, r.opts.Reps, faceMiB, brokerMiB)
	}
	return nil
}

func (r *runner) peakRSSHTTP(ctx context.Context) (faceMiB, brokerMiB float64, err error) {
	f, err := r.faceMesh(ctx, "f-http")
	if err != nil {
		return 0, 0, err
	}
	defer f.close()
	n := r.sz.instances
	name := func(i int) string { return fmt.Sprintf("inst%03d", i%n) }
	clients := make([]*restClient, n)
	if err := parallel(ctx, n, 10, func(i int) error {
		key, err := f.m.keyFor(ctx, name(i))
		clients[i] = f.client(key)
		return err
	}); err != nil {
		return 0, 0, err
	}
	steps := []func(i int) error{
		func(i int) error { return clients[i].call(ctx, "POST", "/api/v1/register", nil, nil) },
		func(i int) error { return clients[i].send(ctx, name(i+1), content("f:"+strconv.Itoa(i))) },
		func(i int) error {
			return clients[i].read(ctx, 0, func(string, string) error { return nil })
		},
	}
	for _, step := range steps {
		if err := parallel(ctx, n, 10, step); err != nil {
			return 0, 0, err
		}
	}
	fb, err := peakRSS(f.pid())
	if err != nil || f.inBroker {
		return float64(fb) / (1 << 20), 0, err
	}
	bb, err := peakRSS(f.m.brokerPID())
	return float64(fb) / (1 << 20), float64(bb) / (1 << 20), err
}

// httpNotes compares the HTTP figures with the native ones of the same
// run.
func httpNotes(rep *Report) []string {
	var notes []string
	for _, p := range []struct{ http, native, what string }{
		{"a.http", "a", "(a) one sender"},
		{"b.http", "b", "(b) 8 senders"},
		{"c.http.p50", "c.p50", "(c) round trip p50"},
	} {
		h, ok1 := rep.Figure(p.http)
		n, ok2 := rep.Figure(p.native)
		if !ok1 || !ok2 || h.Median == 0 || n.Median == 0 || h.Error != "" || n.Error != "" {
			continue
		}
		notes = append(notes, fmt.Sprintf("%s: HTTP %s is %.0f%% of native %s", p.what, formatValue(h.Median, h.Unit), 100*h.Median/n.Median, formatValue(n.Median, n.Unit)))
	}
	return notes
}
