package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// pushed tells when the messages of one sender are pushed to a peer: its
// onEvent is the peer's Config.OnEvent.
type pushed struct {
	from string
	ch   chan push
}

type push struct {
	key string
	at  time.Time
}

func newPushed(from string) *pushed { return &pushed{from: from, ch: make(chan push, 64)} }

func (p *pushed) onEvent(ev ipc.Event) {
	at := time.Now()
	var msg ipcmesh.Message
	if ev.Name != ipc.EventMessage || json.Unmarshal(ev.Body, &msg) != nil || msg.From != p.from {
		return
	}
	select {
	case p.ch <- push{keyOf(msg.Content), at}:
	default:
	}
}

// since waits for the push of the message with key and returns how long
// after start it came; missing says why it did not come within 10 s.
func (p *pushed) since(ctx context.Context, key string, start time.Time, missing func() error) (time.Duration, error) {
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case got := <-p.ch:
			if got.key == key {
				return got.at.Sub(start), nil
			}
		case <-timeout.C:
			return 0, missing()
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// latencies times one, one call at a time: 20 to warm up, then r.sz.pings
// per repetition, whose p50 and p99 go to res as ID.p50 and ID.p99. what
// names one call in the progress lines.
func (r *runner) latencies(ctx context.Context, res *results, id, what string, one func(key string) (time.Duration, error)) error {
	for i := range 20 {
		if _, err := one("warm:" + strconv.Itoa(i)); err != nil {
			return err
		}
	}
	for rep := range r.opts.Reps {
		took := make([]float64, 0, r.sz.pings)
		for i := range r.sz.pings {
			d, err := one(fmt.Sprintf("%s%d:%d", id, rep, i))
			if err != nil {
				return err
			}
			took = append(took, ms(d))
		}
		p50, p99 := percentile(took, 50), percentile(took, 99)
		res.add(id+".p50", p50)
		res.add(id+".p99", p99)
		r.logf("(%s) repetition %d/%d: %d %s, p50 %.3f ms, p99 %.3f ms", id, rep+1, r.opts.Reps, len(took), what, p50, p99)
	}
	return nil
}
