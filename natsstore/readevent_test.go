package natsstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// staleReplicas is a stream whose replicas answer a read of any event as
// not found the first few times, as replicas behind the leader do.
type staleReplicas struct {
	jetstream.Stream
	behind int // reads answered "message not found" before the event
	asked  int
}

func (r *staleReplicas) GetMsg(_ context.Context, seq uint64, _ ...jetstream.GetMsgOpt) (*jetstream.RawStreamMsg, error) {
	r.asked++
	if r.asked <= r.behind {
		return nil, jetstream.ErrMsgNotFound
	}
	return &jetstream.RawStreamMsg{Sequence: seq, Data: []byte("{}")}, nil
}

// A read of an event the log holds is asked again while replicas a moment
// behind the leader say they do not have it.
func TestReadEventAsksAgainWhileAReplicaIsBehind(t *testing.T) {
	stale := &staleReplicas{behind: 3}
	s := &Store{log_: stale, quit: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	raw, err := s.readEvent(ctx, 7)
	if err != nil || raw.Sequence != 7 {
		t.Fatalf("readEvent = %+v, %v; want event 7 once the replicas caught up", raw, err)
	}
	if stale.asked != 4 {
		t.Errorf("asked %d times, want 4", stale.asked)
	}

	// A read that the store's closing ends gives up at once.
	close(s.quit)
	stale.asked, stale.behind = 0, 1<<30
	if _, err := s.readEvent(ctx, 8); !errors.Is(err, jetstream.ErrMsgNotFound) {
		t.Fatalf("readEvent on a closed store = %v, want the replica's answer", err)
	}
}
