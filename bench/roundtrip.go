package bench

import (
	"context"
	"fmt"
	"strings"
	"time"
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
	pongs := newPushed("pong")
	a, err := m.join(ctx, "ping", pongs.onEvent)
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
		return pongs.since(ctx, key, start, func() error {
			return fmt.Errorf("no answer to ping %s within 10 s: %s", key, strings.TrimSpace(b.stderr.String()))
		})
	}
	if err := r.latencies(ctx, res, "c", "round trips", ping); err != nil {
		return err
	}
	res.note("c.p50", "%d round trips per repetition, one at a time; A is a peer in the bench process, B a separate process (ipcmesh bench --agent echo), the broker a third; both subscribe (push delivery, Config.Subscribe + OnEvent), B answers each push with a send; a round trip is 2 acked sends (2 commits) and 2 pushes", r.sz.pings)
	return nil
}
