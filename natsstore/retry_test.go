package natsstore

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go/jetstream"
)

// When the wait of an opening store ends during an attempt, retry returns
// the cluster's last answer, here that it has too few servers for the
// replicas, not the deadline that cut the attempt short: which of the two
// came back depended on whether the wait ended in an attempt or in the
// pause between two, and the refusal is what says what to change.
func TestRetryEndedInAnAttemptReturnsTheLastAnswer(t *testing.T) {
	refusal := &awaitingServers{&jetstream.APIError{ErrorCode: errCodeNoPeers, Description: "no suitable peers for placement"}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tries := 0
	err := retry(ctx, func(actx context.Context) error {
		tries++
		if tries == 1 {
			return refusal
		}
		// The wait ends while the cluster is asked again.
		cancel()
		<-actx.Done()
		return actx.Err()
	})
	if tries != 2 {
		t.Fatalf("retry made %d attempts, want 2", tries)
	}
	if !errors.Is(err, refusal) || !tooFewServers(err) {
		t.Errorf("retry whose wait ended during an attempt: %v; want the refusal of the attempt before", err)
	}
}

// With no answer at all, retry says the wait ran out.
func TestRetryNeverAnsweredReturnsTheDeadline(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err := retry(ctx, func(actx context.Context) error {
		cancel()
		<-actx.Done()
		return actx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("retry never answered: %v; want context.Canceled", err)
	}
}
