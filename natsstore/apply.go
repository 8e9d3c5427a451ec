package natsstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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
	cc, err := cons.Consume(s.handle, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
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
	meta, err := msg.Metadata()
	if err != nil {
		return
	}
	seq := meta.Sequence.Stream
	if seq <= s.applied() || s.failure() != nil {
		return
	}
	var ev event
	if err := json.Unmarshal(msg.Data(), &ev); err != nil {
		s.fail(fmt.Errorf("event %d of the log is not ipcmesh's: %w", seq, err))
		return
	}
	if ev.Op == opBlob {
		data, err := s.blobs.GetBytes(context.Background(), ev.ID)
		if err == nil {
			err = json.Unmarshal(data, &ev)
		}
		if err != nil {
			s.fail(fmt.Errorf("event %d of the log (%s) is in the object store, which does not give it: %w", seq, ev.ID, err))
			return
		}
	}
	s.sweepAt(ev.Time)
	s.clock.Store(&ev.Time)
	o := s.apply(ev)
	s.clock.Store(nil)
	if errors.Is(o.err, store.ErrClosed) {
		return // Close is under way
	}
	if o.err != nil && !isRefusal(o.err) {
		s.fail(fmt.Errorf("apply event %d of the log (%s) to the view in %s: %w", seq, ev.Op, s.view.Dir(), o.err))
		return
	}
	s.advance(seq, ev.Time)

	s.mu.Lock()
	done, mine := s.pending[ev.ID]
	arrivals := s.arrivals
	s.mu.Unlock()
	if mine {
		done <- o
		return
	}
	if ds, ok := o.val.([]store.Delivery); ok && arrivals != nil && o.err == nil {
		arrivals(ds)
	}
}

// isRefusal tells a decision of the store (name_taken, not_found, ...),
// which is the answer to the write, from a fault of the view.
func isRefusal(err error) bool {
	var e *ipcmesh.Error
	return errors.As(err, &e)
}

// apply makes the view do what ev says. Every op the view refuses is
// refused the same way on every broker, since every view holds the same.
func (s *Store) apply(ev event) outcome {
	ctx := context.Background()
	var o outcome
	switch ev.Op {
	case opAppend:
		var a appendArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.Append(ctx, a.Drafts)
		}
	case opAck:
		var a ackArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.Ack(ctx, a.Name, a.IDs)
		}
	case opPutSession:
		var a store.Session
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.PutSession(ctx, a)
		}
	case opRevokeSession:
		var a nameArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.RevokeSession(ctx, a.Name)
		}
	case opRename:
		var a renameArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.Rename(ctx, a.Old, a.Session, a.RequestID)
		}
	case opSetStatus:
		var a statusArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.SetStatus(ctx, a.Name, a.Status, a.Description)
		}
	case opTouch:
		var a map[string]time.Time
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.Touch(ctx, a)
		}
	case opCreateChannel:
		var a ipcmesh.Channel
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.CreateChannel(ctx, a)
		}
	case opJoinChannel:
		var a membersArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.JoinChannel(ctx, a.Name, a.Members)
		}
	case opLeaveChannel:
		var a leaveArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.LeaveChannel(ctx, a.Name, a.Member)
		}
	case opShare:
		var a ipcmesh.Shared
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.Share(ctx, a)
		}
	case opPutKey:
		var a ipcmesh.AccessKey
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.err = s.view.PutAccessKey(ctx, a)
		}
	case opRevokeKeys:
		var a revokeArgs
		if o.err = json.Unmarshal(ev.Args, &a); o.err == nil {
			o.val, o.err = s.view.RevokeAccessKeys(ctx, a.ID, a.Name)
		}
	default:
		// A newer ipcmesh wrote it. Skipping it would let this view
		// drift from the others; stopping says what to do.
		o.err = fmt.Errorf("unknown op %q: this broker is older than the one that wrote it; upgrade it", ev.Op)
	}
	return o
}

// sweepAt applies the retention rules when the log's time has moved on by
// sweepEvery since the last sweep.
func (s *Store) sweepAt(t time.Time) {
	s.mu.Lock()
	last := s.mark.Swept
	s.mu.Unlock()
	if t.Sub(last) < sweepEvery {
		return
	}
	s.clock.Store(&t)
	st, err := s.view.Sweep(context.Background())
	s.clock.Store(nil)
	if err != nil {
		s.log.Warn("apply the retention rules to the view", "err", err)
		return
	}
	if st != (store.SweepStats{}) {
		s.log.Info("retention", "stats", fmt.Sprintf("%+v", st))
	}
	s.mu.Lock()
	s.mark.Swept = t
	s.mu.Unlock()
}
