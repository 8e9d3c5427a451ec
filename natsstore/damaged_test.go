package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// A large body the cluster stored damaged, as the client library's retry
// of a chunk stores it when the bucket's stream had no leader for a
// moment, is put again before any event names it: the message reaches
// the other hosts whole, and no view stops. Named as it was, it stopped
// every view of the mesh, each failing on "received a corrupt object,
// digests do not match".
func TestBodyDamagedInTheClusterIsPutAgain(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	js := sharedJetStream(t)
	var puts atomic.Int32
	a := openHost(t, p, func(o *natsstore.Options) {
		natsstore.OnUploaded(o, func(info *jetstream.ObjectInfo) {
			if puts.Add(1) == 1 {
				if err := damage(js, info); err != nil {
					t.Errorf("damage the object %s: %v", info.Name, err)
				}
			}
		})
	})
	b := openHost(t, p, nil)
	body := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB: 17 chunks
	mustAppend(t, a, draft("big", "alice", "bob", body))
	if n := puts.Load(); n != 2 {
		t.Errorf("the body was put %d times; want twice: damaged, then whole", n)
	}
	b.waitUnread(t, "bob", 1)
	if _, got, err := b.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("B's Get(big) = %d bytes, %v; want the whole %d bytes", len(got), err, len(body))
	}
	// A view made now reads the object the bucket holds.
	c := openHost(t, p, nil)
	if _, got, err := c.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("a new view's Get(big) = %d bytes, %v; want the whole %d bytes", len(got), err, len(body))
	}
	for who, h := range map[string]*host{"A": a, "B": b, "C": c} {
		if _, err := h.Stats(); err != nil {
			t.Errorf("%s's view stopped: %v", who, err)
		}
	}
}

// A large body the cluster stores damaged each time it is put is refused
// to its sender as unavailable, in words that say so, and no event names
// it: the mesh goes on with other messages, and the same message sent
// again once the cluster stores it whole is delivered.
func TestBodyDamagedEachTimeIsRefused(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	js := sharedJetStream(t)
	var puts atomic.Int32
	var damaging atomic.Bool
	damaging.Store(true)
	a := openHost(t, p, func(o *natsstore.Options) {
		natsstore.OnUploaded(o, func(info *jetstream.ObjectInfo) {
			if !damaging.Load() {
				return
			}
			puts.Add(1)
			if err := damage(js, info); err != nil {
				t.Errorf("damage the object %s: %v", info.Name, err)
			}
		})
	})
	b := openHost(t, p, nil)
	body := strings.Repeat("0123456789abcdef", 1<<17)
	ds, err := a.Append(context.Background(), []store.Draft{draft("big", "alice", "bob", body)})
	if err == nil {
		err = ds[0].Err
	}
	if ipcmesh.CodeOf(err) != ipcmesh.CodeUnavailable || !strings.Contains(err.Error(), "damaged") ||
		!strings.Contains(err.Error(), "try again") {
		t.Fatalf("the send whose body was damaged each time: %v; want unavailable, saying the cluster stored it damaged and to try again", err)
	}
	if n := puts.Load(); n != natsstore.MaxPuts {
		t.Errorf("the body was put %d times; want %d", n, natsstore.MaxPuts)
	}

	damaging.Store(false)
	mustAppend(t, a, draft("small", "alice", "bob", "and a small one"))
	mustAppend(t, a, draft("big", "alice", "bob", body))
	b.waitUnread(t, "bob", 2)
	msgs, err := b.Unread("bob", 10)
	if err != nil || len(msgs) != 2 || msgs[0].ID != "small" || msgs[1].ID != "big" {
		t.Fatalf("B's Unread(bob) = %d messages (first %v), %v; want small, then big sent again", len(msgs), first(msgs), err)
	}
	if _, got, err := b.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("B's Get(big) = %d bytes, %v; want the whole %d bytes", len(got), err, len(body))
	}
	for who, h := range map[string]*host{"A": a, "B": b} {
		if _, err := h.Stats(); err != nil {
			t.Errorf("%s's view stopped: %v", who, err)
		}
	}
}

// damage damages the object info of the cluster as the client library's
// retry of a chunk does (nats.go's Put reuses one message for every
// chunk): the second chunk is missing from its place, and the data of the
// third is stored again after the last. The chunks are the messages of
// the bucket's stream OBJ_<bucket> on the subject $O.<bucket>.C.<nuid>,
// read here from the stream's leader, not from a replica that may be
// behind.
func damage(js jetstream.JetStream, info *jetstream.ObjectInfo) error {
	if info.Chunks < 3 {
		return fmt.Errorf("the object has %d chunks; want 3 or more", info.Chunks)
	}
	ctx := context.Background()
	name, subject := "OBJ_"+info.Bucket, fmt.Sprintf("$O.%s.C.%s", info.Bucket, info.NUID)
	chunks, err := settledValue(ctx, func(ctx context.Context) ([]jetstream.Msg, error) {
		return firstChunks(ctx, js, name, subject, 3)
	})
	if err != nil {
		return fmt.Errorf("read the chunks: %w", err)
	}
	meta, err := chunks[1].Metadata()
	if err != nil {
		return err
	}
	st, err := settledValue(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.Stream(ctx, name)
	})
	if err != nil {
		return err
	}
	tries := 0
	err = settled(ctx, func(ctx context.Context) error {
		tries++
		err := st.DeleteMsg(ctx, meta.Sequence.Stream)
		if tries > 1 && errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil // an earlier try's answer was lost
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("remove the second chunk: %w", err)
	}
	// A try whose answer was lost stores the chunk twice: damaged all the
	// same.
	err = settled(ctx, func(ctx context.Context) error {
		_, err := js.Publish(ctx, subject, chunks[2].Data())
		return err
	})
	if err != nil {
		return fmt.Errorf("store the third chunk again: %w", err)
	}
	return nil
}

// firstChunks reads the first n messages on subject from the stream's
// leader, through a consumer of its own made for the read.
func firstChunks(ctx context.Context, js jetstream.JetStream, stream, subject string, n int) ([]jetstream.Msg, error) {
	cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		FilterSubject: subject, AckPolicy: jetstream.AckNonePolicy, InactiveThreshold: time.Minute,
	})
	if err != nil {
		return nil, err
	}
	var chunks []jetstream.Msg
	for len(chunks) < n {
		batch, err := cons.Fetch(n-len(chunks), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, err
		}
		for m := range batch.Messages() {
			chunks = append(chunks, m)
		}
		if err := batch.Error(); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

// A copy of the views the cluster stored damaged is removed once it is
// put, and the log is not trimmed below it: a broker with a new data
// folder, which starts from the newest copy, opened on it and failed,
// "received a corrupt object, digests do not match", for as long as it
// was the newest.
func TestCopyOfTheViewsDamagedIsRemoved(t *testing.T) {
	const every = 10
	p := natsmesh.Prefix(t, &shared)
	js := sharedJetStream(t)
	var damaged atomic.Bool
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	natsstore.SnapshotEvery(&o, every)
	natsstore.OnUploaded(&o, func(info *jetstream.ObjectInfo) {
		if info.Bucket == p+"-snapshots" && damaged.CompareAndSwap(false, true) {
			if err := damage(js, info); err != nil {
				t.Errorf("damage the copy %s: %v", info.Name, err)
			}
		}
	})
	a := reopen(t, o)
	// The large body makes the copy of the views span chunks.
	body := strings.Repeat("0123456789abcdef", 1<<17)
	mustAppend(t, a, draft("big", "alice", "bob", body))
	for i := range every {
		mustAppend(t, a, draft(fmt.Sprintf("m%d", i), "alice", "bob", "before the copy"))
	}
	snaps := objectStore(t, js, p+"-snapshots")
	testbin.Eventually(t, copyWait, "the copy of the views at event 10 to be put, damaged, and removed", func() bool {
		return damaged.Load() && len(objectNames(snaps)) == 0
	})

	b := openHost(t, p, nil)
	msgs, err := b.Unread("bob", 100)
	if err != nil || len(msgs) != every+1 {
		t.Fatalf("a new view: Unread(bob) = %d messages, %v; want %d", len(msgs), err, every+1)
	}
	if _, got, err := b.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("a new view's Get(big) = %d bytes, %v; want the whole %d bytes", len(got), err, len(body))
	}
}

// A broker with a new data folder whose newest copy of the views does
// not read back whole (damaged in the cluster after its check) starts
// from the copy before it, which the log was trimmed below, and applies
// the log from there: it failed to open, naming the digest, for as long
// as that copy was the newest.
func TestNewViewStartsFromTheCopyBeforeADamagedOne(t *testing.T) {
	const every = 10
	p := natsmesh.Prefix(t, &shared)
	js := sharedJetStream(t)
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	natsstore.SnapshotEvery(&o, every)
	a := reopen(t, o)
	body := strings.Repeat("0123456789abcdef", 1<<17)
	mustAppend(t, a, draft("big", "alice", "bob", body))
	snaps := objectStore(t, js, p+"-snapshots")
	writeCopied(t, a, snaps, 2, 2*every-1, every)
	testbin.Eventually(t, copyWait, "copies at events 10 and 20", func() bool { return len(objectNames(snaps)) == 2 })
	info, err := settledValue(t.Context(), func(ctx context.Context) (*jetstream.ObjectInfo, error) {
		return snaps.GetInfo(ctx, "view-00000000000000000020")
	})
	if err != nil {
		t.Fatalf("the copy at event 20: %v", err)
	}
	if err := damage(js, info); err != nil {
		t.Fatalf("damage the copy at event 20: %v", err)
	}

	b := openHost(t, p, nil)
	msgs, err := b.Unread("bob", 100)
	if err != nil || len(msgs) != 2*every || msgs[0].ID != "big" {
		t.Fatalf("a new view: Unread(bob) = %d messages (first %v), %v; want %d, big first", len(msgs), first(msgs), err, 2*every)
	}
	if _, got, err := b.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("a new view's Get(big) = %d bytes, %v; want the whole %d bytes", len(got), err, len(body))
	}
}
