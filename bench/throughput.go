package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// startSink adds an online, subscribed recipient in this process that
// counts what is pushed to it.
func startSink(ctx context.Context, m *mesh, name string) (*election.Peer, *atomic.Int64, error) {
	var pushed atomic.Int64
	p, err := m.join(ctx, name, func(ev ipc.Event) {
		if ev.Name == ipc.EventMessage {
			pushed.Add(1)
		}
	})
	return p, &pushed, err
}

// round makes a send agent send n messages tagged tag and returns how it
// went.
func round(ctx context.Context, s *agent, tag string, n int) (roundResult, error) {
	var rr roundResult
	if err := s.say("go %s %d", tag, n); err != nil {
		return rr, fmt.Errorf("send agent: %w", err)
	}
	line, err := s.expect(ctx, "result", roundTimeout)
	if err != nil {
		return rr, fmt.Errorf("send agent: %w", err)
	}
	if err := json.Unmarshal([]byte(line), &rr); err != nil {
		return rr, fmt.Errorf("send agent: result %q: %w", line, err)
	}
	if rr.Error != "" {
		return rr, fmt.Errorf("send agent: send %d of round %s: %s", rr.Sent+1, tag, rr.Error)
	}
	return rr, nil
}

func (rr roundResult) seconds() float64 { return float64(rr.End-rr.Start) / 1e9 }

// figA: one sender process sends one message after another, each waiting
// for its ack.
func (r *runner) figA(ctx context.Context, res *results) error {
	m, err := r.newMesh("a")
	if err != nil {
		return err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	_, pushed, err := startSink(ctx, m, "sink")
	if err != nil {
		return err
	}
	s, err := m.startAgent(ctx, modeSend, nil, "--name", "sender", "--to", "sink")
	if err != nil {
		return err
	}
	if _, err := round(ctx, s, "warm", 20); err != nil {
		return err
	}
	total := 0
	for rep := range r.opts.Reps {
		rr, err := round(ctx, s, "a"+strconv.Itoa(rep), r.sz.sendsA)
		if err != nil {
			return err
		}
		rate := float64(rr.Sent) / rr.seconds()
		total += rr.Sent
		res.add("a", rate)
		r.logf("(a) repetition %d/%d: %d sends in %.2f s: %.0f msgs/s", rep+1, r.opts.Reps, rr.Sent, rr.seconds(), rate)
	}
	res.note("a", "%d sends per repetition by a sender process (ipcmesh bench --agent send) to an online subscribed recipient in the bench process, each waiting for its ack (given once the send is on disk: on Linux after the fsync of its journal record, elsewhere after bbolt's synced commit); %d of the %d sends, warm-up included, had been pushed to the recipient when the last was acked",
		r.sz.sendsA, pushed.Load(), total+20)
	return nil
}

// figB: several sender processes at once, one receiver process that
// checks and acks; every acked message must be received exactly once.
func (r *runner) figB(ctx context.Context, res *results) error {
	m, err := r.newMesh("b")
	if err != nil {
		return err
	}
	defer m.close()
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	got := newTally()
	recv, err := m.startAgent(ctx, modeRecv, got.add, "--name", "sink")
	if err != nil {
		return err
	}
	senders := make([]*agent, r.sz.senders)
	for k := range senders {
		if senders[k], err = m.startAgent(ctx, modeSend, nil, "--name", fmt.Sprintf("sender%d", k+1), "--to", "sink", "--window", strconv.Itoa(r.opts.Window)); err != nil {
			return err
		}
	}
	rounds := func(tag string, n int) ([]roundResult, error) {
		for k, s := range senders {
			if err := s.say("go %s-%d %d", tag, k+1, n); err != nil {
				return nil, fmt.Errorf("send agent: %w", err)
			}
		}
		out := make([]roundResult, len(senders))
		var firstErr error
		for k, s := range senders {
			line, err := s.expect(ctx, "result", roundTimeout)
			if err == nil {
				err = json.Unmarshal([]byte(line), &out[k])
			}
			if err == nil && out[k].Error != "" {
				err = errors.New(out[k].Error)
			}
			if err != nil && firstErr == nil {
				firstErr = fmt.Errorf("sender %d: %w", k+1, err)
			}
		}
		return out, firstErr
	}
	if _, err := rounds("warm", 10); err != nil {
		return err
	}
	expected := make([][]string, r.opts.Reps)
	peak := 0 // the most sends one sender had in flight at once
	for rep := range r.opts.Reps {
		tag := "b" + strconv.Itoa(rep)
		rrs, err := rounds(tag, r.sz.sendsB)
		for k, rr := range rrs {
			for i := range rr.Sent {
				expected[rep] = append(expected[rep], fmt.Sprintf("%s-%d:%d", tag, k+1, i))
			}
		}
		if err != nil {
			return err
		}
		first, last, sent := rrs[0].Start, rrs[0].End, 0
		for _, rr := range rrs {
			first, last, sent = min(first, rr.Start), max(last, rr.End), sent+rr.Sent
			peak = max(peak, rr.InFlight)
		}
		secs := float64(last-first) / 1e9
		res.add("b", float64(sent)/secs)
		r.logf("(b) repetition %d/%d: %d sends in %.2f s: %.0f msgs/s", rep+1, r.opts.Reps, sent, secs, float64(sent)/secs)
	}
	start := time.Now()
	pushed, err := drain(ctx, recv)
	if err != nil {
		return err
	}
	extra, total := 0, 0
	for rep, exp := range expected {
		lost, dup := got.verify(exp)
		extra += got.extra("b"+strconv.Itoa(rep)+"-", exp)
		total += len(exp)
		res.add("b.lost", float64(lost))
		res.add("b.dup", float64(dup))
	}
	how := fmt.Sprintf("keeping up to %d sends in flight on its one connection (%d reached; each acked after the fsync of its commit)", r.opts.Window, peak)
	if r.opts.Window == 1 {
		how = "one after another (each waits for its ack)"
	}
	res.note("b", "%d sender processes, each sending %d messages %s, to one receiver process that checks and acks as it goes; rate = all sends / (last ack - first send)",
		r.sz.senders, r.sz.sendsB, how)
	res.note("b.lost", "counted per repetition by message content; the receiver (subscribed, and pushed %d of the %d messages) finished reading %s after the last ack; %d received messages had not been acked to a sender",
		pushed, total+10*r.sz.senders, time.Since(start).Round(time.Millisecond), extra)
	return nil
}
