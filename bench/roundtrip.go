package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// figC: A (this process) sends to B (a separate process) with push
// delivery; B is pushed the message and sends it back; A is pushed the
// answer. Each round trip is two acked sends and two pushes.
func (r *runner) figC(ctx context.Context, res *results) error {
	m, err := r.newMesh("c")
	if err != nil {
		return err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	type pong struct {
		key string
		at  time.Time
	}
	pongs := make(chan pong, 64)
	a, err := m.join(ctx, "ping", func(ev ipc.Event) {
		at := time.Now()
		var msg ipcmesh.Message
		if ev.Name != ipc.EventMessage || json.Unmarshal(ev.Body, &msg) != nil || msg.From != "pong" {
			return
		}
		select {
		case pongs <- pong{keyOf(msg.Content), at}:
		default:
		}
	})
	if err != nil {
		return err
	}
	b, err := m.startAgent(ctx, modeEcho, nil, "--name", "pong")
	if err != nil {
		return err
	}
	ping := func(key string) (time.Duration, error) {
		start := time.Now()
		if _, err := a.Send(ctx, "pong", content(key)); err != nil {
			return 0, err
		}
		timeout := time.NewTimer(10 * time.Second)
		defer timeout.Stop()
		for {
			select {
			case p := <-pongs:
				if p.key == key {
					return p.at.Sub(start), nil
				}
			case <-timeout.C:
				return 0, fmt.Errorf("no answer to ping %s within 10 s: %s", key, strings.TrimSpace(b.stderr.String()))
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
	}
	for i := range 20 {
		if _, err := ping("warm:" + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	for rep := range r.opts.Reps {
		rtts := make([]float64, 0, r.sz.pings)
		for i := range r.sz.pings {
			d, err := ping(fmt.Sprintf("c%d:%d", rep, i))
			if err != nil {
				return err
			}
			rtts = append(rtts, ms(d))
		}
		p50, p99 := percentile(rtts, 50), percentile(rtts, 99)
		res.add("c.p50", p50)
		res.add("c.p99", p99)
		r.logf("(c) repetition %d/%d: %d round trips, p50 %.3f ms, p99 %.3f ms", rep+1, r.opts.Reps, len(rtts), p50, p99)
	}
	res.note("c.p50", "%d round trips per repetition, one at a time; A is a peer in the bench process, B a separate process (ipcmesh bench --agent echo), the broker a third; both subscribe (push delivery, Config.Subscribe + OnEvent), B answers each push with a send; a round trip is 2 acked sends (2 commits) and 2 pushes", r.sz.pings)
	return nil
}
