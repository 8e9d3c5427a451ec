package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// sweepEvery is how often, in the log's time, the views apply the
// retention rules: every view sweeps at the same events with the same
// clock, so no view keeps what another dropped.
const sweepEvery = time.Minute

// consume applies the log to the view from the event after the last one
// applied, in order, for as long as the store is open. An ordered consumer
// is a push of the stream's messages as they are stored, which the client
// library re-creates from the last sequence it delivered whenever a server
// or the connection is lost.
func (s *Store) consume(ctx context.Context) error {
	cons, err := s.js.OrderedConsumer(ctx, s.stream, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   s.applied() + 1,
	})
	if err != nil {
		return fmt.Errorf("read the log %s: %w", s.stream, err)
	}
	// Each pull waits up to 2 s for events and the server sends a heartbeat
	// every second meanwhile: a consumer lost with its server is noticed
	// and made anew within about two seconds, not the library's default
	// of ten, since a write waits for this view to apply it.
	cc, err := cons.Consume(s.handle, jetstream.PullExpiry(2*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			s.log.Debug("reading the log", "err", err)
		}))
	if err != nil {
		return fmt.Errorf("read the log %s: %w", s.stream, err)
	}
	s.cc = cc
	return nil
}

// handle applies one message of the log. The client library calls it from
// one goroutine, in order.
func (s *Store) handle(msg jetstream.Msg) {
	s.delivered.Add(1)
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	seq := meta.Sequence.Stream
	if seq <= s.applied() {
		return // caught up with already, by a write that could not wait
	}
	if seq > s.applied()+1 {
		// Events skipped while the consumer was made anew: read them.
		if err := s.catchUpLocked(context.Background(), seq-1); err != nil {
			s.log.Warn("read the log from where this view stopped", "err", err)
			return
		}
		if seq <= s.applied() {
			return // in the copy of the views the lagging view restored
		}
	}
	s.applyLocked(seq, meta.Timestamp, msg.Data())
}

// applyLocked applies event seq, whose message holds data and which the
// cluster stored at stored (by its own clock), to the view on a commit of
// its own, and hands the outcome to the write waiting for it, or to the
// broker as the mail of another. s.applyMu is held: the log is applied in
// order, one event at a time.
func (s *Store) applyLocked(seq uint64, stored time.Time, data []byte) {
	if s.failure() != nil {
		return
	}
	d, err := s.decode(logEvent{seq: seq, stored: stored, data: data})
	if err != nil {
		s.fail(err)
		return
	}
	s.applyOne(d)
}

// A logEvent is an event as the log gives it: its place, the time the
// cluster stored it (by its own clock), and its message.
type logEvent struct {
	seq    uint64
	stored time.Time
	data   []byte
}

// A decoded event is a logEvent read, with its large body if it has one,
// and ready to apply.
type decoded struct {
	logEvent
	ev event
	// foreign is set for a message that is not a write of a broker: every
	// view passes it alike, applying nothing and settling nothing.
	foreign bool
	// skip, if set, is the outcome of a large event whose body was lost
	// and which the views skip (lost).
	skip *outcome
}

// A step is what applying an event leaves to do once the view's writes
// are committed: settle its outcome, or only pass a foreign event.
type step struct {
	seq     uint64
	id      string
	o       outcome
	foreign bool
}

// decode reads the event of le, and its large body from the object store.
// Its error is a fault that stops the view.
func (s *Store) decode(le logEvent) (decoded, error) {
	d := decoded{logEvent: le}
	if err := json.Unmarshal(le.data, &d.ev); err != nil || d.ev.Op == "" {
		// Not a write of a broker: every view skips it alike.
		s.log.Warn("skipping an event of the log that is not ipcmesh's", "seq", le.seq, "err", err)
		d.foreign = true
		return d, nil
	}
	if d.ev.Op != opBlob {
		return d, nil
	}
	id := d.ev.ID
	if s.blobs == nil {
		return d, fmt.Errorf("event %d of the log (%s) is in the object store, which this view cannot read", le.seq, id)
	}
	data, err := s.blob(id)
	if errors.Is(err, errBodyLost) {
		if data, d.skip, err = s.lost(le.seq, d.ev); err != nil || d.skip != nil {
			return d, err
		}
	}
	if err == nil {
		err = json.Unmarshal(data, &d.ev)
	}
	if err != nil {
		return d, fmt.Errorf("event %d of the log (%s) is in the object store, which does not give it: %w", le.seq, id, err)
	}
	if err := s.recordBody(id, le.seq); err != nil {
		return d, fmt.Errorf("event %d of the log: %w", le.seq, err)
	}
	return d, nil
}

// applyOne applies d to the view on a commit of its own, which records
// it applied (store.SetApplied), after the retention sweeps due at it,
// and settles it. It reports whether it did:
// not when the view failed at it, or Close is under way.
func (s *Store) applyOne(d decoded) bool {
	if !d.foreign && d.skip == nil {
		s.sweepAt(d.ev.Time, d.ev.Keep)
		s.sweepBodiesAt(d.stored)
	}
	var st step
	err := s.viewNow().Together(context.Background(), func(ctx context.Context) error {
		var err error
		if st, err = s.applyDecoded(ctx, d); err != nil {
			return err
		}
		return s.viewNow().SetApplied(ctx, d.seq)
	})
	if err != nil {
		if !errors.Is(err, store.ErrClosed) {
			s.fail(err)
		}
		return false
	}
	s.finish(st)
	return true
}

// applyDecoded makes the view's writes of d with ctx, and returns what is
// left to do once they are committed. Its error is store.ErrClosed when
// Close is under way, else a fault of the view; a refusal is the
// event's outcome.
func (s *Store) applyDecoded(ctx context.Context, d decoded) (step, error) {
	if d.foreign {
		return step{seq: d.seq, foreign: true}, nil
	}
	if d.skip != nil {
		return step{seq: d.seq, id: d.ev.ID, o: *d.skip}, nil
	}
	s.clock.Store(&d.ev.Time)
	o := s.apply(ctx, d.ev)
	s.clock.Store(nil)
	if errors.Is(o.err, store.ErrClosed) {
		return step{}, store.ErrClosed
	}
	if o.err != nil && !isRefusal(o.err) {
		return step{}, fmt.Errorf("apply event %d of the log (%s) to the view in %s: %w", d.seq, d.ev.Op, s.viewNow().Dir(), o.err)
	}
	return step{seq: d.seq, id: d.ev.ID, o: o}, nil
}

// finish settles st, whose writes are committed.
func (s *Store) finish(st step) {
	if st.foreign {
		s.advance(st.seq)
		return
	}
	s.settle(st.seq, st.id, st.o)
}

// applyEvents applies evs, the events of the log from the one after the
// last applied on, in order, and settles each. It stops at the first it
// cannot apply: the view failed, or Close is under way.
//
// Each event on a commit of its own cost about 300 µs, two thirds of it
// bbolt's work on its pages (BenchmarkCatchUp), so the events go to the
// view in runs, each run in one commit (store.Together): the outcome of
// each is settled, in order, once the run is committed, never before, so
// that no write is answered, and no mail handed out, that a read of the
// view would not find, and the view's place in the log (mark.Applied)
// never moves past what it has committed. The commit records the run's
// last event as applied (store.SetApplied): a view killed after it goes
// on from there, and applies none of the run again. A run ends where a
// retention sweep is due: the sweep reads the view outside its own
// write, so the events before it are committed first, and it is made on
// its own commit, as before runs, at the same events as every other
// view.
func (s *Store) applyEvents(evs []logEvent) {
	var next *decoded // evs[0], decoded already
	for len(evs) > 0 {
		if s.failure() != nil {
			return
		}
		var d decoded
		if next != nil {
			d, next = *next, nil
		} else {
			var err error
			if d, err = s.decode(evs[0]); err != nil {
				s.fail(err)
				return
			}
		}
		if len(evs) == 1 {
			s.applyOne(d)
			return
		}
		n, ok := 0, false
		n, next, ok = s.applyRun(d, evs[1:])
		if !ok {
			return
		}
		evs = evs[n:]
	}
}

// applyRun applies first, then as many of rest as it can, in one commit
// of the view, and settles them. It returns how many events it settled,
// the next event decoded already when the run ended at it for a sweep due
// there, and whether to go on.
func (s *Store) applyRun(first decoded, rest []logEvent) (n int, next *decoded, ok bool) {
	// The sweeps due at the run's first event, on commits of their own:
	// every event before it is committed.
	if !first.foreign && first.skip == nil {
		s.sweepAt(first.ev.Time, first.ev.Keep)
		s.sweepBodiesAt(first.stored)
	}
	var (
		run   = []decoded{first} // the events the run went to, applied or not
		steps []step
		// stop is why the run ended before rest did, and the events
		// after it are not applied: dealt with once the run's own are
		// settled.
		stop error
	)
	write := func(ctx context.Context) error {
		for i := 0; ; i++ {
			st, err := s.applyDecoded(ctx, run[i])
			if errors.Is(err, store.ErrClosed) {
				stop = err
				return nil
			}
			if err != nil {
				return err
			}
			steps = append(steps, st)
			s.reached(runWrote, first.seq, len(steps))
			if i == len(rest) {
				return nil
			}
			if err := s.failure(); err != nil {
				stop = err
				return nil
			}
			d, err := s.decode(rest[i])
			if err != nil {
				stop = err
				return nil
			}
			if s.sweepDue(d) {
				next = &d
				return nil
			}
			run = append(run, d)
		}
	}
	err := s.viewNow().Together(context.Background(), func(ctx context.Context) error {
		if err := write(ctx); err != nil {
			return err
		}
		if len(steps) > 0 {
			if err := s.viewNow().SetApplied(ctx, steps[len(steps)-1].seq); err != nil {
				return err
			}
		}
		s.reached(runWritten, first.seq, len(steps))
		return nil
	})
	if err == nil {
		s.reached(runCommitted, first.seq, len(steps))
		for _, st := range steps {
			s.finish(st)
		}
		n = len(steps)
	} else {
		// Nothing of the run was committed. Its events are applied
		// again, each on a commit of its own: those before a fault are
		// settled as they were decided, and the view fails at the fault
		// as it did before runs. The sweeps they find due were made
		// already: none is.
		s.log.Debug("a run of events failed to apply in one commit; applying them one at a time", "from", first.seq, "events", len(run), "err", err)
		for _, d := range run {
			if s.failure() != nil || !s.applyOne(d) {
				return n, nil, false
			}
			n++
		}
	}
	if stop != nil {
		if !errors.Is(stop, store.ErrClosed) {
			s.fail(stop)
		}
		return n, nil, false
	}
	return n, next, true
}

// A runPoint is a point of a run of events applied in one commit of the
// view (applyRun).
type runPoint int

const (
	runWrote     runPoint = iota // an event's writes are in the run's transaction
	runWritten                   // the run's writes are all made; its commit is next
	runCommitted                 // the run is committed, and none of its events settled
)

// reached tells the test that set Options.inRun that a run stands at at.
func (s *Store) reached(at runPoint, first uint64, written int) {
	if f := s.opts.inRun; f != nil {
		f(at, first, written)
	}
}

// settle marks event seq, whose id is id, applied to the view, and hands
// its outcome o to the write of this broker waiting for it, or to the
// broker as the mail of another. An event skipped is applied so too,
// with the outcome a write waiting for it gets.
func (s *Store) settle(seq uint64, id string, o outcome) {
	s.advance(seq)
	s.snapshotAt(seq, id)

	s.mu.Lock()
	done, mine := s.pending[id]
	arrivals, revoked := s.arrivals, s.revoked
	s.mu.Unlock()
	if mine {
		done <- o
		return
	}
	if o.err != nil {
		return
	}
	switch v := o.val.(type) {
	case []store.Delivery:
		if arrivals != nil {
			arrivals(v)
		}
	case []ipcmesh.AccessKey:
		// A revoke: the broker tells its connections of the name, whose
		// open streams may have been opened with the key.
		if revoked != nil && len(v) > 0 {
			revoked(v)
		}
	}
}

// untilClosed returns a context that ends with parent or once the store
// is closed: a read of the cluster that is never answered must not keep
// Close waiting.
func (s *Store) untilClosed(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		select {
		case <-s.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// blob reads the event stored under id in the object store. Any replica
// may answer a read there, and one that has not caught up yet does not
// know the object: it is asked again for staleReadFor, as readEvent asks
// for an event; one still not found then is lost (errBodyLost). A read
// that times out, or finds the cluster without a leader, is made again
// for as long as the store is open: the view cannot apply the events
// after this one without it, and failing here failed the broker for a
// cluster that was only slow (an 8 MiB body took more than the 10 s it
// once had, on two busy cores under the race detector).
func (s *Store) blob(id string) ([]byte, error) {
	ctx, cancel := s.untilClosed(context.Background())
	defer cancel()
	giveUp := time.Now().Add(staleReadFor)
	var warned time.Time
	mismatches := 0
	for {
		data, err := s.readBlob(ctx, id)
		switch {
		case err == nil:
			return data, nil
		case ctx.Err() != nil:
			return nil, err
		case errors.Is(err, jetstream.ErrObjectNotFound):
			if time.Now().After(giveUp) {
				return nil, fmt.Errorf("large event %s: %w for %v: %w", id, errBodyLost, staleReadFor, err)
			}
		case errors.Is(err, jetstream.ErrDigestMismatch):
			// A read of chunks that lost some on the way (the client drops
			// messages for a reader that falls behind, as a busy machine's
			// may) ends so, though the object is whole in the store: it is
			// read again. An object damaged in the store stays so, and
			// fails the view after a few reads. It is not taken for lost
			// (lost.go): a mismatch may be this view's own, and a view
			// that applied the event without its body, where another
			// read it whole, would hold other mail. No event names a
			// body before its write read it back whole (putBody).
			if mismatches++; mismatches > maxMismatches {
				return nil, fmt.Errorf("large event %s: %w (%d reads)", id, err, mismatches)
			}
			s.log.Warn("a large event's read did not match its digest; reading it again", "object", id)
		case retryable(err):
			if time.Since(warned) > staleReadFor {
				warned = time.Now()
				s.log.Warn("the object store did not give a large event in time; asking again", "object", id, "err", err)
			}
		default:
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// maxMismatches is how many reads of a large event may end with a digest
// that does not match before the view gives up on it.
const maxMismatches = 5

// readBlob makes one read of the object id, given blobReadTime for its
// size.
func (s *Store) readBlob(ctx context.Context, id string) ([]byte, error) {
	ictx, cancel := context.WithTimeout(ctx, attemptTimeout)
	info, err := s.blobs.GetInfo(ictx, id)
	cancel()
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, blobReadTime(info.Size))
	defer cancel()
	return s.blobs.GetBytes(rctx, id)
}

// blobReadTime bounds one read of a large event from the object store: a
// few seconds for its requests, and its TransferTime. Without a deadline
// of its own, a read gets the client's default of 5 s whatever its size.
func blobReadTime(size uint64) time.Duration {
	return 5*time.Second + TransferTime(int(min(size, math.MaxInt)))
}

// TransferTime is what a large event's body of n bytes is given to cross
// between a broker and the cluster, on top of the time for the requests:
// a second for every 256 KiB (32 s for 8 MiB), a rate any cluster that is
// up keeps. A write carries its body there once, reads it back once to
// check that the cluster holds it whole (putBody), and its view reads it
// once more, so a peer waits three times this for a broker to answer a
// send.
func TransferTime(n int) time.Duration {
	return time.Duration(max(n, 0)/(256<<10)) * time.Second
}

// isRefusal tells a decision of the store (name_taken, not_found, ...),
// which is the answer to the write, from a fault of the view. An
// unavailable is a fault, though the store answers it as an *ipcmesh.Error
// for its callers to retry: a full disk, or a commit that failed, here
// only, which every other view makes; taken for a refusal, the view would
// go on without the write.
func isRefusal(err error) bool {
	var e *ipcmesh.Error
	return errors.As(err, &e) && e.Code != ipcmesh.CodeUnavailable
}

// apply makes the view do what ev says. Every op the view refuses is
// refused the same way on every broker, since every view holds the same.
func (s *Store) apply(ctx context.Context, ev event) outcome {
	var o outcome
	switch ev.Op {
	case opAppend:
		var a appendArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().AppendWithin(ctx, a.Drafts, a.Limits)
		}
	case opAck:
		var a ackArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().Ack(ctx, a.Name, a.IDs)
		}
	case opPutSession:
		var a store.Session
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.viewNow().PutSession(ctx, a)
		}
	case opRevokeSession:
		var a nameArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.viewNow().RevokeSession(ctx, a.Name)
		}
	case opRename:
		var a renameArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().Rename(ctx, a.Old, a.Session, a.RequestID)
		}
	case opSetStatus:
		var a statusArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			desc := &a.Description
			if a.KeepDescription {
				desc = nil
			}
			o.err = s.viewNow().SetStatus(ctx, a.Name, a.Status, desc)
		}
	case opTouch:
		var a map[string]time.Time
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.viewNow().Touch(ctx, a)
		}
	case opCreateChannel:
		var a ipcmesh.Channel
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().CreateChannel(ctx, a)
		}
	case opJoinChannel:
		var a membersArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().JoinChannel(ctx, a.Name, a.Members)
		}
	case opLeaveChannel:
		var a leaveArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.viewNow().LeaveChannel(ctx, a.Name, a.Member)
		}
	case opShare:
		var a shareArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().ShareWithin(ctx, a.Shared, a.Limits)
		}
	case opPutKey:
		var a ipcmesh.AccessKey
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.viewNow().PutAccessKey(ctx, a)
		}
	case opRevokeKeys:
		var a revokeArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.viewNow().RevokeAccessKeys(ctx, a.ID, a.Name)
		}
	default:
		// A newer ipcmesh wrote it. Skipping it would let this view
		// drift from the others; stopping says what to do.
		o.err = fmt.Errorf("unknown op %q: this broker is older than the one that wrote it; upgrade it", ev.Op)
	}
	return o
}

// sweepAt applies the retention rules when the log's time has moved on by
// sweepEvery since the last sweep, with keep, the history retention of the
// event's writer (0: the view's own).
func (s *Store) sweepAt(t time.Time, keep time.Duration) {
	if !s.sweepDueAt(t) {
		return
	}
	s.clock.Store(&t)
	st, err := s.viewNow().SweepWithin(context.Background(), keep)
	s.clock.Store(nil)
	if err != nil {
		s.log.Warn("apply the retention rules to the view", "err", err)
		if !errors.Is(err, store.ErrInstancesKept) {
			return // tried again at the next event
		}
		// The rest was done: tried at every event, a record that
		// stays unreadable would have each one scan every instance.
	}
	if st != (store.SweepStats{}) {
		s.log.Info("retention", "stats", fmt.Sprintf("%+v", st))
	}
	s.mu.Lock()
	s.mark.Swept = t
	s.mu.Unlock()
}

// sweepDueAt reports whether the log's time t is sweepEvery or more past
// the last sweep.
func (s *Store) sweepDueAt(t time.Time) bool {
	s.mu.Lock()
	last := s.mark.Swept
	s.mu.Unlock()
	return t.Sub(last) >= sweepEvery
}

// sweepDue reports whether applying d begins with a sweep, of the view
// (sweepAt) or of the bodies bucket (sweepBodiesAt).
func (s *Store) sweepDue(d decoded) bool {
	if d.foreign || d.skip != nil {
		return false
	}
	if s.sweepDueAt(d.ev.Time) {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bodySweepDueLocked(d.stored)
}
