package natsstore

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Retryable tells the errors of a cluster that is changing leaders or of
// a connection moving to another server from a refusal.
func Retryable(err error) bool { return retryable(err) }

// StopFollowing stops the consumer that brings the log to the view, as
// one is stopped for seconds while it is made anew after its server
// died: the view then lags the log until something reads it.
func (s *Store) StopFollowing() {
	s.cc.Stop()
	<-s.cc.Closed()
}

// ConnectedServer names the NATS server the store's connection is on.
func (s *Store) ConnectedServer() string { return s.nc.ConnectedServerName() }

// SweepBodiesAfter makes the views sweep the bodies bucket at every event,
// of the objects older than age that no event names.
func SweepBodiesAfter(o *Options, age time.Duration) {
	o.orphanAge = age
	o.bodySweepEvery = time.Nanosecond
}

// SnapshotEvery makes the views be copied, and the log trimmed, every n
// events.
func SnapshotEvery(o *Options, n uint64) { o.snapshotEvery = n }

// OnAsking makes f be called as a request of a write to the cluster
// begins: each try of a publish of its event, an upload of its large
// body, a take of a name.
func OnAsking(o *Options, f func()) { o.asking = f }

// OnUploaded makes f be called with the object each time a large event's
// body has been put into the bodies bucket, before the write reads it
// back.
func OnUploaded(o *Options, f func(*jetstream.ObjectInfo)) { o.uploaded = f }

// MaxPuts is how many times a write puts a large body that reads back
// damaged before it is refused.
const MaxPuts = maxPuts

// HoldApplying keeps the view from applying the log, as a host asleep
// does, until the function it returns is called.
func (s *Store) HoldApplying() (release func()) {
	s.applyMu.Lock()
	return s.applyMu.Unlock
}

// NamesBody reports whether the view recorded that an event it applied
// names the object id of the bodies bucket, which the sweep then keeps.
func (s *Store) NamesBody(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.bodies[id]
	return ok
}

// ConsumerPatience is how long the store's next write waits for the
// consumer to bring its event before it reads the log itself.
func (s *Store) ConsumerPatience() time.Duration { return s.consumerPatience() }

// Applied is the last event of the log the view has applied.
func (s *Store) Applied() uint64 { return s.applied() }

// CatchUpHeld applies the log up to where it ends now, as CatchUp does,
// for a caller that holds the view's applying (HoldApplying): the events
// are applied there and then, by no other goroutine.
func (s *Store) CatchUpHeld(ctx context.Context) error {
	info, err := s.log_.Info(ctx)
	if err != nil {
		return err
	}
	return s.catchUpLocked(ctx, info.State.LastSeq)
}

// LogEnd is the last event of the log.
func (s *Store) LogEnd(ctx context.Context) (uint64, error) {
	info, err := s.log_.Info(ctx)
	if err != nil {
		return 0, err
	}
	return info.State.LastSeq, nil
}

// A RunPoint is where a run of events applied in one commit of the view
// stands.
type RunPoint = runPoint

// The points of a run OnRun hears of.
const (
	RunWrote     = runWrote     // an event's writes are in the run's transaction
	RunWritten   = runWritten   // the run's writes are all made; its commit is next
	RunCommitted = runCommitted // the run is committed, and none of its events settled
)

// OnRun makes f be called at each point of a run of events applied in
// one commit of the view, with the run's first event and how many of
// its events are written; f may keep the run there for as long as it
// likes.
func OnRun(o *Options, f func(at RunPoint, first uint64, written int)) { o.inRun = f }
