package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// roundTimeout bounds one round of sends by one agent.
const roundTimeout = 5 * time.Minute

func (r *runner) groups() []group {
	sz := r.sz
	ge := func(v float64) *Target { return &Target{Op: ">=", Value: v} }
	le := func(v float64) *Target { return &Target{Op: "<=", Value: v} }
	stored := thousands(float64(sz.stored))
	return []group{
		{key: "a", title: "one sender, sequential acked sends", timeout: 5 * time.Minute, run: r.figA, rows: []row{
			{id: "a", name: "(a) 1 sender, sequential acked sends", unit: "msgs/s", target: ge(1000)},
		}},
		{key: "b", title: fmt.Sprintf("%d concurrent senders, each message received exactly once", sz.senders), timeout: 5 * time.Minute, run: r.figB, rows: []row{
			{id: "b", name: fmt.Sprintf("(b) %d senders, aggregate", sz.senders), unit: "msgs/s", target: ge(20000)},
			{id: "b.lost", name: "(b) lost (acked, never received)", unit: "msgs", target: le(0), judge: "max"},
			{id: "b.dup", name: "(b) received more than once", unit: "msgs", target: le(0), judge: "max"},
		}},
		{key: "c", title: "ping-pong round trip with push delivery", timeout: 5 * time.Minute, run: r.figC, rows: []row{
			{id: "c.p50", name: "(c) ping-pong round trip p50", unit: "ms", target: le(0.5)},
			{id: "c.p99", name: "(c) ping-pong round trip p99", unit: "ms", target: le(2)},
		}},
		{key: "d", title: "failover: kill -9 of the broker process while a client sends", timeout: 5 * time.Minute, run: r.figD, rows: []row{
			{id: "d", name: "(d) failover, kill -9 to next acked send", unit: "ms", target: le(500), judge: "max"},
			{id: "d.lost", name: "(d) lost (acked, never received)", unit: "msgs", target: le(0), judge: "max"},
			{id: "d.dup", name: "(d) received more than once", unit: "msgs", target: le(0), judge: "max"},
		}},
		{key: "e", title: fmt.Sprintf("check, history and search with %s messages stored", stored), timeout: 5 * time.Minute, run: r.figE, rows: []row{
			{id: "e.check", name: fmt.Sprintf("(e) check, %s stored, p50", stored), unit: "ms", target: le(1)},
			{id: "e.check99", name: fmt.Sprintf("(e) check, %s stored, p99", stored), unit: "ms"},
			{id: "e.history", name: "(e) history page of 20, p50", unit: "ms", target: le(1)},
			{id: "e.history99", name: "(e) history page of 20, p99", unit: "ms"},
			{id: "e.search", name: "(e) search, one rare word, p50", unit: "ms"},
			{id: "e.search99", name: "(e) search, one rare word, p99", unit: "ms"},
			{id: "e.searchc", name: "(e) search, rare + common word, p50", unit: "ms"},
		}},
		{key: "f", title: fmt.Sprintf("broker peak RSS with %d connected instances", sz.instances), timeout: 5 * time.Minute, run: r.figF, rows: []row{
			{id: "f", name: fmt.Sprintf("(f) broker peak RSS, %d instances", sz.instances), unit: "MiB", target: le(40), judge: "max"},
		}},
		{key: "g", title: "one-shot ipcmesh send, process start to exit", timeout: 5 * time.Minute, run: r.figG, rows: []row{
			{id: "g", name: "(g) one-shot `ipcmesh send`, start to exit", unit: "ms", target: le(15)},
			{id: "g.secret", name: "(g) the same with IPC_SHARED_SECRET set", unit: "ms", target: le(15)},
		}},
		{key: "x", title: "context: the machine's floor", timeout: time.Minute, run: r.figContext, rows: []row{
			{id: "x.fsync", name: "context: write+fsync in the mesh folder, p50", unit: "ms"},
			{id: "x.rtt", name: "context: loopback TCP round trip, p50", unit: "ms"},
		}},
	}
}

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
	res.note("a", "%d sends per repetition by a sender process (ipcmesh bench --agent send) to an online subscribed recipient in the bench process, each waiting for its ack (given after the commit's fsync); %d of the %d sends, warm-up included, had been pushed to the recipient when the last was acked",
		r.sz.sendsA, pushed.Load(), total+20)
	return nil
}

// tally counts what a receiver was given, by message key and by id.
type tally struct {
	mu   sync.Mutex
	keys map[string]int
	ids  map[string]int
}

func newTally() *tally { return &tally{keys: map[string]int{}, ids: map[string]int{}} }

func (t *tally) add(id, key string) {
	t.mu.Lock()
	t.keys[key]++
	t.ids[id]++
	t.mu.Unlock()
}

// verify compares what was acked to the senders (expected keys) with what
// was received: lost are acked keys never received, dup the extra copies of
// keys received more than once.
func (t *tally) verify(expected []string) (lost, dup int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range expected {
		switch n := t.keys[k]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	return lost, dup
}

// extra counts the messages received under prefix that were not expected.
func (t *tally) extra(prefix string, expected []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	want := make(map[string]bool, len(expected))
	for _, k := range expected {
		want[k] = true
	}
	n := 0
	for k := range t.keys {
		if strings.HasPrefix(k, prefix) && !want[k] {
			n++
		}
	}
	return n
}

// drain tells a recv agent to read what is left, waits until it has, and
// returns how many messages were pushed to it.
func drain(ctx context.Context, recv *agent) (pushed int, err error) {
	if err := recv.say("stop"); err != nil {
		return 0, fmt.Errorf("recv agent: %w", err)
	}
	rest, err := recv.expect(ctx, "done", roundTimeout)
	if err != nil {
		return 0, fmt.Errorf("recv agent: %w", err)
	}
	return strconv.Atoi(rest)
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
		if senders[k], err = m.startAgent(ctx, modeSend, nil, "--name", fmt.Sprintf("sender%d", k+1), "--to", "sink"); err != nil {
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
	res.note("b", "%d sender processes, each sending %d messages one after another (each waits for its ack) to one receiver process that checks and acks as it goes; rate = all sends / (last ack - first send)",
		r.sz.senders, r.sz.sendsB)
	res.note("b.lost", "counted per repetition by message content; the receiver (subscribed, and pushed %d of the %d messages) finished reading %s after the last ack; %d received messages had not been acked to a sender",
		pushed, total+10*r.sz.senders, time.Since(start).Round(time.Millisecond), extra)
	return nil
}

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

// sendRecord is one send of the failover sender.
type sendRecord struct {
	key    string
	end    time.Time // when the ack arrived (monotonic)
	stored time.Time // when the broker stored it (wall clock)
	dup    bool      // the broker that acked had it already: a retry
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

// figE: check (the unread page), a history page and searches with many
// messages stored, nearly all of them read.
func (r *runner) figE(ctx context.Context, res *results) error {
	m, err := r.newMesh("e")
	if err != nil {
		return err
	}
	defer m.close()
	start := time.Now()
	seqs, err := populate(ctx, m.dir, r.sz.stored, r.sz.unread)
	if err != nil {
		return err
	}
	r.logf("(e) stored and indexed %d messages (%d unread) in %.1f s", r.sz.stored, r.sz.unread, time.Since(start).Seconds())
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	reader, err := m.join(ctx, "reader", nil)
	if err != nil {
		return err
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	for rep := range r.opts.Reps {
		var checks, pages, rare, mixed []float64
		for range r.sz.lookups {
			t := time.Now()
			c, err := reader.Check(ctx, 100, 0)
			if err != nil {
				return err
			}
			checks = append(checks, ms(time.Since(t)))
			if len(c.Messages) != r.sz.unread {
				return fmt.Errorf("check returned %d messages, want the %d unread", len(c.Messages), r.sz.unread)
			}

			// A page of the conversation somewhere in its past.
			before := seqs[20+rnd.IntN(len(seqs)-20)]
			t = time.Now()
			h, err := reader.History(ctx, ipc.HistoryRequest{With: "writer", Before: before, Limit: 20})
			if err != nil {
				return err
			}
			pages = append(pages, ms(time.Since(t)))
			if len(h.Messages) != 20 || h.Messages[0].Seq >= before {
				return fmt.Errorf("history before %d returned %d messages starting at %d", before, len(h.Messages), h.Messages[0].Seq)
			}

			// Every message holds its own number and the common filler.
			n := rnd.IntN(r.sz.stored)
			t = time.Now()
			found, err := reader.Search(ctx, ipc.SearchRequest{Query: "n" + strconv.Itoa(n)})
			if err != nil {
				return err
			}
			rare = append(rare, ms(time.Since(t)))
			if len(found) != 1 {
				return fmt.Errorf("search for message %d found %d messages, want 1", n, len(found))
			}
			t = time.Now()
			found, err = reader.Search(ctx, ipc.SearchRequest{Query: fillerWord + " n" + strconv.Itoa(n)})
			if err != nil {
				return err
			}
			mixed = append(mixed, ms(time.Since(t)))
			if len(found) != 1 {
				return fmt.Errorf("search for %q and message %d found %d messages, want 1", fillerWord, n, len(found))
			}
		}
		res.add("e.check", percentile(checks, 50))
		res.add("e.check99", percentile(checks, 99))
		res.add("e.history", percentile(pages, 50))
		res.add("e.history99", percentile(pages, 99))
		res.add("e.search", percentile(rare, 50))
		res.add("e.search99", percentile(rare, 99))
		res.add("e.searchc", percentile(mixed, 50))
		r.logf("(e) repetition %d/%d: check p50 %.3f ms, history p50 %.3f ms, search p50 %.3f ms", rep+1, r.opts.Reps, percentile(checks, 50), percentile(pages, 50), percentile(rare, 50))
	}
	res.note("e.check", "%d stored for one reader, %d of them unread; %d checks per repetition (limit 100, no wait, not acked, so each returns the %d) from a peer in the bench process to the broker child; the store was filled directly (store.Append and store.Ack in batches of 1000, then indexed) before the broker started",
		r.sz.stored, r.sz.unread, r.sz.lookups, r.sz.unread)
	res.note("e.history", "a page of 20 of the reader's conversation with the writer, before a random seq; %d per repetition", r.sz.lookups)
	res.note("e.search", "the word that only one message holds (its number), among %d messages that all hold the filler words; %d per repetition", r.sz.stored, r.sz.lookups)
	res.note("e.searchc", "the same number and %q, which every message holds", fillerWord)
	return nil
}

// populate fills a store with n messages from "writer" to "reader", all
// but unread of them read, waits until they are indexed, and returns their
// seqs in order. Message i holds the word "n<i>" and the filler. The
// reader's instance is created with an expired session, so that the reader
// can register as usual.
func populate(ctx context.Context, dir string, n, unread int) ([]uint64, error) {
	st, err := store.Open(store.Options{Dir: dir})
	if err != nil {
		return nil, err
	}
	defer st.Close()
	if err := st.PutSession(ctx, store.Session{Name: "reader", ID: ipc.NewID(), Expires: time.Now().Add(-time.Hour)}); err != nil {
		return nil, err
	}
	const batch = 1000
	var seqs []uint64
	for start := 0; start < n; start += batch {
		drafts := make([]store.Draft, 0, batch)
		var acks []string
		for i := start; i < min(start+batch, n); i++ {
			id := ipc.NewID()
			drafts = append(drafts, store.Draft{ID: id, From: "writer", To: "reader", Content: content("n" + strconv.Itoa(i))})
			if i < n-unread {
				acks = append(acks, id)
			}
		}
		ds, err := st.Append(ctx, drafts)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if d.Err != nil {
				return nil, d.Err
			}
			seqs = append(seqs, d.Message.Seq)
		}
		if _, err := st.Ack(ctx, "reader", acks); err != nil {
			return nil, err
		}
	}
	if err := st.WaitIndexed(ctx); err != nil {
		return nil, err
	}
	return seqs, st.Close()
}

// figF: the broker child's peak resident memory once many instances have
// connected, registered, sent and checked.
func (r *runner) figF(ctx context.Context, res *results) error {
	for rep := range r.opts.Reps {
		mib, idle, err := r.peakRSS(ctx)
		if errors.Is(err, errNA) {
			res.na["f"] = true
			res.note("f", "n/a: the peak RSS is read from /proc/PID/status (VmHWM) on linux only")
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

// figG: "ipcmesh send" as a script runs it, against a running broker,
// from process start to exit: with the secret file (the default), then with
// IPC_SHARED_SECRET set, which every process stretches with argon2id.
func (r *runner) figG(ctx context.Context, res *results) error {
	for _, c := range []struct{ id, secret string }{{"g", ""}, {"g.secret", "bench-" + ipc.NewID()}} {
		if err := r.oneShots(ctx, res, c.id, c.secret); err != nil {
			return err
		}
	}
	res.note("g", "%d runs of `ipcmesh send --as oneshot sink MESSAGE` (after one that registered the name), each timed from before fork/exec to its exit, against a broker child; the samples are runs, not repetitions; the secret comes from the secret file in the data folder", r.sz.oneshots)
	res.note("g.secret", "as g, on a mesh whose processes have IPC_SHARED_SECRET set: each process stretches it with argon2id (19 MiB, 2 passes) before it can connect")
	return nil
}

func (r *runner) oneShots(ctx context.Context, res *results, id, secret string) error {
	m, err := r.newMesh("g")
	if err != nil {
		return err
	}
	defer m.close()
	if secret != "" {
		m.vars["IPC_SHARED_SECRET"] = secret
	}
	if err := m.startBroker(ctx); err != nil {
		return err
	}
	if _, _, err := startSink(ctx, m, "sink"); err != nil {
		return err
	}
	run := func(i int) (time.Duration, error) {
		cmd := m.command("send", "--as", "oneshot", "sink", "one-shot message "+strconv.Itoa(i))
		stderr := &tail{max: 4 << 10}
		cmd.Stdout, cmd.Stderr = io.Discard, stderr
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		if err != nil {
			return 0, fmt.Errorf("ipcmesh send: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		return took, nil
	}
	// The first run registers the name; the rest resume its session, as a
	// script's calls do.
	if _, err := run(-1); err != nil {
		return err
	}
	for i := range r.sz.oneshots {
		d, err := run(i)
		if err != nil {
			return err
		}
		res.add(id, ms(d))
	}
	r.logf("(g) %d runs, median %.1f ms (%s)", r.sz.oneshots, median(res.samples[id]), map[bool]string{true: "secret file", false: "IPC_SHARED_SECRET"}[secret == ""])
	return nil
}

// figContext measures what bounds the others on this machine: the cost of
// an fsync in the mesh folder and a loopback TCP round trip.
func (r *runner) figContext(ctx context.Context, res *results) error {
	f, err := os.Create(filepath.Join(r.root, "fsync-probe"))
	if err != nil {
		return err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var syncs []float64
	for i := range 200 {
		t := time.Now()
		if _, err := f.WriteAt(buf, int64(i%16)*4096); err != nil {
			return err
		}
		if err := f.Sync(); err != nil {
			return err
		}
		syncs = append(syncs, ms(time.Since(t)))
	}
	res.add("x.fsync", percentile(syncs, 50))
	res.note("x.fsync", "a 4 KiB write and fsync, p50 of 200, p99 %.3f ms; a bbolt commit costs about two", percentile(syncs, 99))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 64)
		for {
			if _, err := io.ReadFull(c, b); err != nil {
				return
			}
			if _, err := c.Write(b); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	b := make([]byte, 64)
	var rtts []float64
	for range 2000 {
		t := time.Now()
		if _, err := c.Write(b); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		rtts = append(rtts, ms(time.Since(t)))
	}
	res.add("x.rtt", percentile(rtts, 50))
	res.note("x.rtt", "64 bytes there and back between two goroutines of the bench process, p50 of 2000, p99 %.3f ms", percentile(rtts, 99))
	return nil
}
