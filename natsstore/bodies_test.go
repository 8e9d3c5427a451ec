package natsstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
)

// A large body uploaded for an event that was never published (the
// cluster lost its quorum, or the broker was killed between the upload and
// the publish) is named by nothing: the views' sweep removes it once it is
// older than the orphan age, and keeps what an event names, however old,
// and what is younger, whose event may still be on its way. The chunks
// of an upload cut short (its broker killed in the middle of a large body
// or of a copy of its view) are named by no object: the sweep purges them
// from both buckets at the same age, and keeps younger ones, which may be
// an upload under way.
func TestBodiesNoEventNamesAreSwept(t *testing.T) {
	const age = 2 * time.Second
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, func(o *natsstore.Options) { natsstore.SweepBodiesAfter(o, age) })
	ctx := context.Background()
	body := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB: in the object store
	mustAppend(t, a, draft("big", "alice", "bob", body))

	js := sharedJetStream(t)
	bodies := objectStore(t, js, p+"-bodies")
	// An upload whose event was never published, as a broker killed in
	// between leaves it.
	old := putBytes(t, bodies, "gone.1", []byte(body))
	// The bucket's list is read from any replica, and one a moment
	// behind lists less: it is asked again until it lists both. Nothing
	// is swept meanwhile, since the log does not move.
	eventually(t, "the bodies bucket to list the large message's object and the orphan", func() bool {
		named, err := bodies.List(ctx)
		return err == nil && len(named) == 2
	})
	// The chunks an upload cut short leaves: published, with no object
	// pointing at them.
	chunk := []byte(body[:128<<10])
	// cutShort returns the stream of the bucket, the chunk's subject and
	// when the cluster stored it.
	cutShort := func(bucket, nuid string) (jetstream.Stream, string, time.Time) {
		t.Helper()
		subject := "$O." + bucket + ".C." + nuid
		// A try whose answer was lost stores the chunk twice: a chunk
		// named by no object all the same.
		err := settled(ctx, func(ctx context.Context) error {
			_, err := js.Publish(ctx, subject, chunk)
			return err
		})
		if err != nil {
			t.Fatalf("publish a chunk on %s: %v", subject, err)
		}
		st := stream(t, js, "OBJ_"+bucket)
		// Any replica may answer, and one a moment behind does not have
		// the chunk yet.
		var m *jetstream.RawStreamMsg
		eventually(t, "the stream to give the chunk of "+subject, func() bool {
			m, err = st.GetLastMsgForSubject(ctx, subject)
			return err == nil
		})
		return st, subject, m.Time
	}
	bodiesStream, oldBody, _ := cutShort(p+"-bodies", "cutshortbody")
	snapsStream, oldCopy, lastCut := cutShort(p+"-snapshots", "cutshortcopy")

	// The orphan and the chunks must be older than the age when the log
	// moves on. (The chunks are stored after the list above, which took
	// seconds on a busy machine: timed from the orphan alone, the wait
	// ended too soon for them, and the sweep rightly kept them.)
	time.Sleep(time.Until(lastCut.Add(age + 100*time.Millisecond)))
	young := putBytes(t, bodies, "onitsway.1", []byte(body))
	_, underWay, _ := cutShort(p+"-bodies", "underway")
	mustAppend(t, a, draft("small", "alice", "bob", "the log moves on"))
	eventually(t, "the orphan is removed", func() bool {
		_, err := bodies.GetInfo(ctx, old.Name)
		return errors.Is(err, jetstream.ErrObjectNotFound)
	})
	for _, c := range []struct {
		stream  jetstream.Stream
		subject string
	}{{bodiesStream, oldBody}, {snapsStream, oldCopy}} {
		eventually(t, "the chunks of the upload cut short on "+c.subject+" are purged", func() bool {
			_, err := c.stream.GetLastMsgForSubject(ctx, c.subject)
			return errors.Is(err, jetstream.ErrMsgNotFound)
		})
	}
	a.Close() // and its sweep ends
	err := settled(ctx, func(ctx context.Context) error {
		_, err := bodiesStream.GetLastMsgForSubject(ctx, underWay)
		return err
	})
	if err != nil {
		t.Errorf("the chunk of an upload younger than the age: %v; want it kept", err)
	}

	var left []string
	listed := func() bool {
		infos, err := bodies.List(ctx)
		if err != nil {
			return false
		}
		left = left[:0]
		for _, info := range infos {
			left = append(left, info.Name)
		}
		return len(left) == 2 && strings.Contains(strings.Join(left, ","), young.Name)
	}
	// Asked again while a replica a moment behind still lists the orphan.
	for deadline := time.Now().Add(10 * time.Second); !listed(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the bodies bucket holds %v; want the large message's (named by its event) and %s (younger than %v)", left, young.Name, age)
		}
	}
	// A view built anew from the log reads every large event it names.
	b := openHost(t, p, nil)
	if _, content, err := b.Get("bob", "big"); err != nil || content != body {
		t.Fatalf("a new view's Get(big) = %d bytes, %v; want the whole %d bytes", len(content), err, len(body))
	}
}

// putBytes puts data into bucket as the object name, put again while the
// cluster fails to answer for a moment: a put made again replaces the
// object, and a try cut short purges what chunks it stored as best it
// can (what it leaves, named by no object, the sweep purges in time).
func putBytes(t *testing.T, bucket jetstream.ObjectStore, name string, data []byte) *jetstream.ObjectInfo {
	t.Helper()
	info, err := settledValue(context.Background(), func(ctx context.Context) (*jetstream.ObjectInfo, error) {
		return bucket.PutBytes(ctx, name, data)
	})
	if err != nil {
		t.Fatalf("put the object %s: %v", name, err)
	}
	return info
}
