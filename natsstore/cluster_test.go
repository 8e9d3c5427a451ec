package natsstore_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/natsstore"
)

// sharedJetStream connects to the shared cluster as a plain JetStream
// client, to look at what the stores made there; the connection closes
// when the test ends.
func sharedJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	return jetStreamAt(t, shared.Get(t).URL())
}

// jetStreamAt connects to the cluster at url as a plain JetStream client;
// the connection closes when the test ends.
func jetStreamAt(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// A test's own request to the cluster is tried for settleTimeout at
// most, each try for tryTimeout, so that one whose answer was lost is
// asked again before the bound.
const (
	settleTimeout = 45 * time.Second
	tryTimeout    = 15 * time.Second
)

// settled runs op, with a context of its own each try, again while it
// fails as a request to a cluster fails for a moment (a leader moving,
// an answer lost, "no responders" on a loaded machine), for
// settleTimeout at most: the tests' own requests are not what they test,
// and the store retries such failures of its own. Any other error, a
// refusal, is returned at once. Each try of op must start anew, and a
// try whose answer was lost may have been done: op makes its second
// try of a removal or a publish mean the same as its first.
func settled(ctx context.Context, op func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	for tries := 1; ; tries++ {
		tctx, tcancel := context.WithTimeout(ctx, tryTimeout)
		err := op(tctx)
		tcancel()
		if err == nil || !natsstore.Retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d tries in %v, the last: %w", tries, settleTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// settledValue is settled for an op that gives a value: it returns the
// value of the try that succeeded.
func settledValue[T any](ctx context.Context, op func(ctx context.Context) (T, error)) (T, error) {
	var v T
	err := settled(ctx, func(ctx context.Context) (err error) {
		v, err = op(ctx)
		return err
	})
	return v, err
}

// objectStore returns the handle of the object store bucket, asked of
// the cluster until it answers.
func objectStore(t testing.TB, js jetstream.JetStream, bucket string) jetstream.ObjectStore {
	t.Helper()
	obs, err := settledValue(context.Background(), func(ctx context.Context) (jetstream.ObjectStore, error) {
		return js.ObjectStore(ctx, bucket)
	})
	if err != nil {
		t.Fatalf("the object store %s: %v", bucket, err)
	}
	return obs
}

// stream returns the handle of the stream name, asked of the cluster
// until it answers.
func stream(t testing.TB, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	st, err := settledValue(context.Background(), func(ctx context.Context) (jetstream.Stream, error) {
		return js.Stream(ctx, name)
	})
	if err != nil {
		t.Fatalf("the stream %s: %v", name, err)
	}
	return st
}

// publishOnce publishes data on subject, published again while the
// cluster fails to answer for a moment, each try with the same message
// id: the stream stores it once, as it stores an event a broker
// published again (a log's events are taken as they come, and one stored
// twice would be applied twice).
func publishOnce(t *testing.T, js jetstream.JetStream, subject string, data []byte) {
	t.Helper()
	id := "test." + rand.Text()
	err := settled(t.Context(), func(ctx context.Context) error {
		_, err := js.Publish(ctx, subject, data, jetstream.WithMsgID(id))
		return err
	})
	if err != nil {
		t.Fatalf("publish on %s: %v", subject, err)
	}
}
