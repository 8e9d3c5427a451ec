package natsstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// A view far behind the log applies the events it lacks in runs, each in
// one commit of the view, and settles every event of a run on its own,
// in order, once the run is committed. These tests watch each event as
// it is settled: the mail of another broker is handed out only once the
// view holds it, with the view's place in the log at that event, and
// each write of this broker gets its own outcome.

// arrivalLog records the mail handed to a host as another's, and what
// was wrong as it was handed out.
type arrivalLog struct {
	mu       sync.Mutex
	ids      []string
	problems []string
}

// watch makes a record each message of another broker handed to h: the
// view must hold it, and be at its event of the log, seqOf[id], then.
func (l *arrivalLog) watch(h *host, seqOf map[string]uint64) {
	h.Arrivals(func(ds []store.Delivery) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, d := range ds {
			id := d.Message.ID
			l.ids = append(l.ids, id)
			if got, want := h.Applied(), seqOf[id]; got != want {
				l.problems = append(l.problems, fmt.Sprintf("%s, event %d of the log, was handed out with the view at event %d", id, want, got))
			}
			if _, ok, err := h.Lookup(id); err != nil || !ok {
				l.problems = append(l.problems, fmt.Sprintf("%s was handed out before the view held it (found %v, %v)", id, ok, err))
			}
		}
	})
}

func (l *arrivalLog) check(t *testing.T, want []string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.problems {
		t.Error(p)
	}
	if !slices.Equal(l.ids, want) {
		t.Errorf("the mail handed out as another broker's: %d messages %v; want %d in the log's order, %v", len(l.ids), l.ids, len(want), want)
	}
}

// sampleApplied watches h's place in the log until the function it
// returns is called, which reports what was wrong: each time, the view
// must hold the last message of f at or before that place. A place
// moved on before the view's commit of the events is seen so.
func sampleApplied(h *host, f *feed) (stop func() []string) {
	bySeq := make(map[uint64]string, len(f.seqOf))
	for id, seq := range f.seqOf {
		bySeq[seq] = id
	}
	done := make(chan struct{})
	out := make(chan []string, 1)
	go func() {
		var problems []string
		for {
			select {
			case <-done:
				out <- problems
				return
			default:
			}
			at := h.Applied()
			for seq := at; seq > 0; seq-- {
				id, ok := bySeq[seq]
				if !ok {
					continue
				}
				if _, found, err := h.Lookup(id); (err != nil || !found) && len(problems) < 5 {
					problems = append(problems, fmt.Sprintf("the view was at event %d without %s, event %d (%v)", at, id, seq, err))
				}
				break
			}
		}
	}()
	return func() []string {
		close(done)
		return <-out
	}
}

// feed writes through b, another host, and keeps count of the log's
// events and of where each message of b is in it.
type feed struct {
	t     *testing.T
	b     *host
	end   uint64            // the log's last event
	seqOf map[string]uint64 // b's message id -> its event
	ids   []string          // b's messages, in order
}

func (f *feed) send(n int) {
	f.t.Helper()
	for range n {
		id := fmt.Sprintf("b-%03d", len(f.ids))
		mustAppendTo(f.t, f.b.Store, draft(id, "alice", "bob", "from B "+id))
		f.end++
		f.seqOf[id] = f.end
		f.ids = append(f.ids, id)
	}
}

// awaitLog waits until the log holds event seq: a write of a host whose
// applying is held is in the log before it returns.
func awaitLog(t *testing.T, h *host, seq uint64) {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		end, err := h.LogEnd(t.Context())
		if err == nil && end >= seq {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log ends at event %d (%v) 45 s on; want event %d", end, err, seq)
		}
		time.Sleep(5 * time.Millisecond) // polls the log's end, which nothing announces
	}
}

// asleep opens two hosts of a mesh of its own, A and B, with A's view
// neither following the log nor applying it (its host asleep) until
// release is called, and the mail handed to A watched. f writes through
// B. It returns the mesh's prefix too.
func asleep(t *testing.T) (p string, a *host, f *feed, arrivals *arrivalLog, release func()) {
	t.Helper()
	p = natsmesh.Prefix(t, &shared)
	a, b := openHost(t, p, nil), openHost(t, p, nil)
	a.StopFollowing()
	end, err := a.LogEnd(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	f = &feed{t: t, b: b, end: end, seqOf: map[string]uint64{}}
	arrivals = new(arrivalLog)
	arrivals.watch(a, f.seqOf)

	var once sync.Once
	hold := a.HoldApplying()
	release = func() { once.Do(hold) }
	t.Cleanup(release)
	return p, a, f, arrivals, release
}

// TestCatchUpSettlesEachEventOfARun: host A, whose applying is held (its
// host asleep), writes among the writes of host B: a message, a message
// B had sent already (a duplicate), a channel, the same channel again
// (name_taken). Then A applies all of it at once, far behind: each write
// of A gets its own outcome, and B's mail is handed to A in order, each
// message once A's view holds it and with A's view at its event.
func TestCatchUpSettlesEachEventOfARun(t *testing.T) {
	_, a, f, arrivals, release := asleep(t)
	ctx := t.Context()

	type result struct {
		ds  []store.Delivery
		ch  ipcmesh.Channel
		err error
	}
	// write starts a write of A and waits until its event is in the log.
	write := func(w func() result) chan result {
		out := make(chan result, 1)
		go func() { out <- w() }()
		f.end++
		awaitLog(t, a, f.end)
		return out
	}
	appendA := func(d store.Draft) func() result {
		return func() result {
			ds, err := a.Append(ctx, []store.Draft{d})
			return result{ds: ds, err: err}
		}
	}
	createA := func() result {
		ch, err := a.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "alice", Members: []string{"alice"}})
		return result{ch: ch, err: err}
	}

	f.send(40)
	sent := write(appendA(draft("a-000", "alice", "bob", "from A")))
	f.send(40)
	again := write(appendA(draft("b-005", "alice", "bob", "from A, again")))
	f.send(40)
	created := write(createA)
	taken := write(createA)
	f.send(10)

	sampling := sampleApplied(a, f)
	err := a.CatchUpHeld(ctx)
	for _, p := range sampling() {
		t.Error(p)
	}
	if err != nil {
		t.Fatalf("catch up: %v", err)
	}
	if got := a.Applied(); got != f.end {
		t.Errorf("A's view is at event %d after catching up; want %d", got, f.end)
	}
	release()

	if r := <-sent; r.err != nil || len(r.ds) != 1 || r.ds[0].Err != nil || r.ds[0].Duplicate || r.ds[0].Message.Content != "from A" {
		t.Errorf("A's message: %+v, %v; want it stored", r.ds, r.err)
	}
	if r := <-again; r.err != nil || len(r.ds) != 1 || !r.ds[0].Duplicate || r.ds[0].Message.Content != "from B b-005" {
		t.Errorf("A's message with the id of B's b-005: %+v, %v; want a duplicate of B's", r.ds, r.err)
	}
	if r := <-created; r.err != nil || r.ch.Name != "ops" || r.ch.CreatedBy != "alice" {
		t.Errorf("A's channel: %+v, %v; want it made", r.ch, r.err)
	}
	if r := <-taken; ipcmesh.CodeOf(r.err) != ipcmesh.CodeNameTaken {
		t.Errorf("A's channel again: %+v, %v; want name_taken", r.ch, r.err)
	}
	arrivals.check(t, f.ids)
	if n, err := a.UnreadCount("bob"); err != nil || n != len(f.ids)+1 {
		t.Errorf("bob has %d unread in A's view (%v), want %d", n, err, len(f.ids)+1)
	}
}

// TestCatchUpSettlesTheEventsBeforeOneThatFails: an event no view can
// apply (an op of a newer ipcmesh) stops the view, far behind the log,
// in the middle of a run: the events before it are applied and settled
// each as before, and the view stops at it, at the event before.
func TestCatchUpSettlesTheEventsBeforeOneThatFails(t *testing.T) {
	p, a, f, arrivals, release := asleep(t)
	ctx := t.Context()

	f.send(50)
	ev, _ := json.Marshal(map[string]any{"id": "newer.1", "op": "frobnicate", "time": time.Now().UTC(), "args": json.RawMessage(`{}`)})
	publishOnce(t, sharedJetStream(t), p+".log", ev)
	f.end++
	bad := f.end
	awaitLog(t, a, bad)

	err := a.CatchUpHeld(ctx)
	release()
	if err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("catch up over an op of a newer ipcmesh: %v; want the view stopped at it", err)
	}
	if got := a.Applied(); got != bad-1 {
		t.Errorf("A's view is at event %d; want %d, the one before the event it cannot apply", got, bad-1)
	}
	arrivals.check(t, f.ids)
	if n, err := a.UnreadCount("bob"); err != nil || n != len(f.ids) {
		t.Errorf("bob has %d unread in A's view (%v), want %d", n, err, len(f.ids))
	}
}

// TestViewFromACopyMadeInARunHoldsTheLogOnce: host A, far behind the log,
// applies in one run an event of its own at which it copies its view,
// then a message of host B, a post of B to a channel that does not exist
// yet (refused), the channel, and more mail. The copy is taken once the
// run is committed, and its mark read while the run is being settled,
// at the event of the copy or the message after it (whose arrival on A
// waits here for the copy): the copy holds the events after its mark.
// A host whose view is built anew starts from the copy, and so does one
// that lagged behind the log trimmed below the copy before it (asleep
// since the start): both must hold the log as the others do. They went
// on from the copy's mark, applied the post again on a view that held
// its channel, and stored it: a message no other view holds, and every
// message after it took another seq.
func TestViewFromACopyMadeInARunHoldsTheLogOnce(t *testing.T) {
	const every = 20
	p := natsmesh.Prefix(t, &shared)
	ctx := t.Context()
	js := sharedJetStream(t)
	copied := make(chan string, 1)
	a := openHost(t, p, func(o *natsstore.Options) {
		natsstore.SnapshotEvery(o, every)
		natsstore.OnUploaded(o, func(info *jetstream.ObjectInfo) {
			select {
			case copied <- info.Name:
			default:
			}
		})
	})
	b := openHost(t, p, nil)
	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	lagging := reopenLogged(t, natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}, slog.New(rec))
	lagging.StopFollowing()
	var laggingOnce sync.Once
	laggingHold := lagging.HoldApplying()
	wakeLagging := func() { laggingOnce.Do(laggingHold) }
	t.Cleanup(wakeLagging)

	end, err := a.LogEnd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &feed{t: t, b: b, end: end, seqOf: map[string]uint64{}}
	// writeAt has A write at the next multiple of the interval from at
	// least least events on: A copies its view once it applied it.
	writeAt := func(id string, least int) <-chan error {
		pad := every - 1 - int(f.end%every)
		for pad < least {
			pad += every
		}
		f.send(pad)
		sent := make(chan error, 1)
		go func() {
			_, err := a.Append(context.Background(), []store.Draft{draft(id, "alice", "bob", "an event A copies its view at")})
			sent <- err
		}()
		f.end++
		awaitLog(t, a, f.end)
		return sent
	}
	// The copy before the one made in a run, which the log is trimmed
	// below once that one is made.
	if err := <-writeAt("a-first-copy", 0); err != nil {
		t.Fatal(err)
	}
	firstCopy := f.end
	<-copied

	a.StopFollowing()
	var once sync.Once
	hold := a.HoldApplying()
	release := func() { once.Do(hold) }
	t.Cleanup(release)
	// Far enough behind to read the log in batches.
	sent := writeAt("a-copied", 40)
	f.send(1)
	waits := f.ids[len(f.ids)-1]
	a.Arrivals(func(ds []store.Delivery) {
		for _, d := range ds {
			if d.Message.ID != waits {
				continue
			}
			select {
			case <-copied:
			case <-time.After(copyWait):
				t.Errorf("A put no copy of its view into the cluster within %v of the event it copies at", copyWait)
			}
		}
	})
	post := draft("early-post", "alice", "", "a post before #late was made")
	post.Channel = "late"
	if ds, err := b.Append(ctx, []store.Draft{post}); err != nil || ds[0].Err == nil {
		t.Fatalf("a post to #late before it was made: %+v, %v; want it refused", ds, err)
	}
	if _, err := b.CreateChannel(ctx, ipcmesh.Channel{Name: "late", CreatedBy: "alice", Members: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}
	f.end += 2
	f.send(5)

	if err := a.CatchUpHeld(ctx); err != nil {
		t.Fatalf("catch up: %v", err)
	}
	release()
	if err := <-sent; err != nil {
		t.Fatalf("A's write at the event of the copy: %v", err)
	}
	log := stream(t, js, p)
	testbin.Eventually(t, copyWait, fmt.Sprintf("the log trimmed below the copy at event %d", firstCopy), func() bool {
		info, err := log.Info(ctx)
		return err == nil && info.State.FirstSeq > firstCopy
	})

	same := func(who string, h *host) {
		t.Helper()
		if got := h.Applied(); got != f.end {
			t.Errorf("%s is at event %d; want the log's end, %d", who, got, f.end)
		}
		if msg, found, err := h.Lookup(post.ID); err != nil || found {
			t.Errorf("%s holds the post every view refused (seq %d, %v)", who, msg.Seq, err)
		}
		want, err := b.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if got, err := h.Stats(); err != nil || got != want {
			t.Errorf("%s: %+v (%v); B's view: %+v", who, got, err, want)
		}
		for _, id := range append(f.ids, "a-first-copy", "a-copied") {
			got, _, err := h.Lookup(id)
			if want, _, werr := b.Lookup(id); err != nil || werr != nil || got.Seq != want.Seq {
				t.Errorf("%s has %s at seq %d; B's view at %d (%v, %v)", who, id, got.Seq, want.Seq, err, werr)
			}
		}
	}
	fresh := &logRecorder{}
	fresh.dumpOnFailure(t)
	d := reopenLogged(t, natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}, slog.New(fresh))
	if fresh.count(slog.LevelInfo, "restored the view from a copy in the cluster") == 0 {
		t.Error("the view built anew did not start from the copy")
	}
	same("the view built anew", d)

	// The lagging host finds the log trimmed past its view, once its
	// replicas had the time to catch up (10 s), and restores the copy.
	wakeLagging()
	testbin.Eventually(t, time.Minute, "the lagging view to restore the copy and apply the log", func() bool {
		return lagging.CatchUp(ctx) == nil && lagging.Applied() == f.end
	})
	if rec.count(slog.LevelInfo, "restored the view from a copy") == 0 {
		t.Error("the lagging view did not restore the copy")
	}
	same("the lagging view", lagging)
}

// TestViewOpenedFarBehindAppliesTheLogInRuns: a view far behind the log
// as its broker opens it (a new data folder, or a broker stopped while
// the others wrote) applies what it lacks in runs, each in one commit,
// where the consumer would bring one event at a time, each on a commit
// of its own: the broker serves once its view is up to date, and a
// commit of the view costs more than applying an event.
func TestViewOpenedFarBehindAppliesTheLogInRuns(t *testing.T) {
	const n = 2000
	p := natsmesh.Prefix(t, &shared)
	openHost(t, p, nil) // makes the log
	fillLog(t, p, n)
	var (
		mu           sync.Mutex
		runs, inRuns int
	)
	b := openHost(t, p, func(o *natsstore.Options) {
		natsstore.OnRun(o, func(at natsstore.RunPoint, _ uint64, written int) {
			if at == natsstore.RunCommitted {
				mu.Lock()
				runs++
				inRuns += written
				mu.Unlock()
			}
		})
	})
	if got, err := b.UnreadCount("bob"); err != nil || got != n {
		t.Fatalf("the view opened holds %d unread for bob (%v); want %d", got, err, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if inRuns < n-32 {
		t.Errorf("opened %d events behind the log, the view applied %d of them in %d runs; want all but the last few in runs", n, inRuns, runs)
	}
}
