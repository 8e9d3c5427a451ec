package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// figD: kill -9 of the broker child while a peer sends; time from the kill
// to the first send acked by the next broker. Each repetition on a fresh
// mesh.
func (r *runner) figD(ctx context.Context, res *results) error {
	hosts := map[string]int{}
	for rep := range r.sz.failovers {
		d, lost, dup, host, err := r.failover(ctx, rep)
		if err != nil {
			return err
		}
		hosts[host]++
		res.add("d", ms(d))
		res.add("d.lost", float64(lost))
		res.add("d.dup", float64(dup))
		r.logf("(d) repetition %d/%d: next ack %.1f ms after the kill (new broker: %s); lost %d, duplicated %d", rep+1, r.sz.failovers, ms(d), host, lost, dup)
	}
	var who []string
	for h, n := range hosts {
		who = append(who, fmt.Sprintf("%s %d×", h, n))
	}
	slices.Sort(who)
	res.note("d", "one fresh mesh per repetition: broker child (ipcmesh broker), a sender peer in the bench process sending one message after another, a receiver process checking and acking; after %d acked sends the broker gets SIGKILL; the figure is the time from the kill to the first ack from the next broker; the next broker was hosted by: %s",
		r.sz.killAfter, strings.Join(who, ", "))
	return nil
}

func (r *runner) failover(ctx context.Context, rep int) (took time.Duration, lost, dup int, host string, err error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	m, err := r.newMesh("d")
	if err != nil {
		return 0, 0, 0, "", err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return 0, 0, 0, "", err
	}
	got := newTally()
	recv, err := m.startAgent(ctx, modeRecv, got.add, "--name", "sink")
	if err != nil {
		return 0, 0, 0, "", err
	}
	src, err := m.join(ctx, "src", nil)
	if err != nil {
		return 0, 0, 0, "", err
	}

	var (
		mu       sync.Mutex
		killedAt time.Time // monotonic, just before SIGKILL
		deadAt   time.Time // wall clock, once the broker is reaped
	)
	reached := make(chan struct{})
	var recs []sendRecord
	sendErr := make(chan error, 1)
	go func() {
		after := 0
		for i := 0; ; i++ {
			key := fmt.Sprintf("d%d:%d", rep, i)
			sr, err := src.Send(ctx, "sink", content(key))
			end := time.Now()
			if err != nil {
				sendErr <- fmt.Errorf("send %d: %w", i+1, err)
				return
			}
			recs = append(recs, sendRecord{key: key, end: end, stored: sr.Message.Time, dup: sr.Duplicate})
			if i+1 == r.sz.killAfter {
				close(reached)
			}
			mu.Lock()
			dead := !deadAt.IsZero()
			mu.Unlock()
			if dead {
				if after++; after >= r.sz.afterKill {
					sendErr <- nil
					return
				}
			}
		}
	}()
	select {
	case <-reached:
	case err := <-sendErr:
		return 0, 0, 0, "", err
	case <-ctx.Done():
		return 0, 0, 0, "", ctx.Err()
	}
	mu.Lock()
	killedAt = time.Now()
	mu.Unlock()
	if err := m.killBroker(); err != nil {
		return 0, 0, 0, "", err
	}
	mu.Lock()
	deadAt = time.Now().Round(0) // wall clock only
	mu.Unlock()
	select {
	case err = <-sendErr:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		return 0, 0, 0, "", fmt.Errorf("after the kill: %w", err)
	}
	// The first ack from the next broker: a message it stored after the
	// old one was dead, or a retry it found stored already. (An ack of the
	// old broker read just after the kill does not count.)
	for _, s := range recs {
		if s.end.After(killedAt) && (s.dup || s.stored.After(deadAt)) {
			took = s.end.Sub(killedAt)
			break
		}
	}
	if took == 0 {
		return 0, 0, 0, "", errors.New("no send was acked by a new broker")
	}
	host = "another process"
	if st, err := src.Status(ctx); err == nil {
		switch st.Broker.PID {
		case os.Getpid():
			host = "the sender's process"
		case recv.pid():
			host = "the receiver's process"
		}
	}
	if _, err := drain(ctx, recv); err != nil {
		return 0, 0, 0, "", err
	}
	expected := make([]string, len(recs))
	for i, s := range recs {
		expected[i] = s.key
	}
	lost, dup = got.verify(expected)
	return took, lost, dup, host, nil
}
