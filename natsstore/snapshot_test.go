package natsstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// The log is trimmed below the older of the two newest copies of the
// views, the copies before it are removed, and so are the large bodies
// only trimmed events named. A broker whose view is missing, or lags
// behind the trimmed log, starts from the newest copy and reads all the
// mail, the large body of a trimmed event included, whose object is gone.
func TestLogIsTrimmedBelowACopyOfTheViews(t *testing.T) {
	const every = 10
	p := natsmesh.Prefix(t, &shared)
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	natsstore.SnapshotEvery(&o, every)
	natsstore.SweepBodiesAfter(&o, time.Nanosecond)
	copier := &logRecorder{}
	copier.dumpOnFailure(t)
	a := reopenLogged(t, o, slog.New(copier))
	ctx := context.Background()
	js := sharedJetStream(t)
	log := stream(t, js, p)
	snaps := objectStore(t, js, p+"-snapshots")
	bodies := objectStore(t, js, p+"-bodies")

	// Event 1: the large body is the first write, so that no sweep is
	// under way while it is uploaded (an orphan of age 0 would be swept).
	body := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB: in the object store
	mustAppend(t, a, draft("big", "alice", "bob", body))
	var big []string
	eventually(t, "the bodies bucket to list the large message's object", func() bool {
		big = objectNames(bodies)
		return len(big) == 1
	})
	// A broker that stops early, its view at the log's start.
	lagging := openHost(t, p, nil)
	lagging.waitUnread(t, "bob", 1)
	lagging.Close()

	// Events 2 to 31.
	writeCopied(t, a, snaps, 2, 30, every)
	// Copies at 10, 20 and 30: the log starts after the copy at 20, and
	// the copy at 10 is gone.
	var start uint64
	testbin.Eventually(t, copyWait, "the log trimmed below the copy at event 20, and two copies left", func() bool {
		info, err := log.Info(ctx)
		if err != nil {
			return false
		}
		start = info.State.FirstSeq
		return start > 20 && len(objectNames(snaps)) == 2
	})
	if start > 31 {
		t.Fatalf("the log starts at event %d; want the events after the copy at 20 kept", start)
	}
	// What status shows of it.
	st, err := a.LogState(ctx)
	if err != nil || st.First != start || st.Last != 31 || st.Bytes == 0 || st.Applied != 31 || st.Copy != 30 || st.Every != every ||
		st.Copied.IsZero() || time.Since(st.Copied) > time.Minute {
		t.Errorf("LogState: %+v, %v; want events %d to 31, all applied, the copy at 30 made just now, one every %d", st, err, start, every)
	}
	// A sweep starts as an event is applied, and those of events 21 to
	// 31 may have listed the bucket before the trim: the log moves on
	// until a sweep that started after it has removed the object.
	for i, deadline := 0, time.Now().Add(10*time.Second); ; i++ {
		if _, err := bodies.GetInfo(ctx, big[0]); errors.Is(err, jetstream.ErrObjectNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s, the object %s of the trimmed large event is still in the bodies bucket", big[0])
		}
		mustAppend(t, a, draft(fmt.Sprintf("tick%d", i), "alice", "carol", "the log moves on"))
	}

	for i, h := range []struct {
		name string
		opts natsstore.Options
	}{
		{"the broker whose view lags behind the log's start", lagging.opts},
		{"a broker with a new data folder", natsstore.Options{URL: a.opts.URL, Prefix: p, Store: store.Options{Dir: t.TempDir()}}},
	} {
		rec := &logRecorder{}
		b := reopenLogged(t, h.opts, slog.New(rec))
		if n := rec.count(slog.LevelInfo, "restored the view from a copy"); n != 1 {
			t.Errorf("%s logged %d restores of a copy, want 1", h.name, n)
		}
		msgs, err := b.Unread("bob", 100)
		if err != nil || len(msgs) != 31 || msgs[0].ID != "big" || msgs[30].ID != "m29" {
			t.Fatalf("%s: Unread(bob) = %d messages (first %v), %v; want big and m0 to m29", h.name, len(msgs), first(msgs), err)
		}
		if _, content, err := b.Get("bob", "big"); err != nil || content != body {
			t.Fatalf("%s: Get(big) = %d bytes, %v; want the whole %d bytes", h.name, len(content), err, len(body))
		}
		// It writes, and the others read it.
		mustAppend(t, b, draft(fmt.Sprintf("reply%d", i), "bob", "alice", "read you"))
		b.Close()
	}
	a.waitUnread(t, "alice", 2)
}

// copyWait bounds the wait for a copy of the views that a write made
// due, and for the trim after it: nobody waits for one but the tests. A
// copy of 4 MB took 6.3 s under the race detector on a loaded machine,
// and a put cut off by a reconnect, as such a machine's connections are
// for want of pings, is made again.
const copyWait = time.Minute

// writeCopied has h write n messages to bob, m0 on, the first of them
// event first of the log, whose every tenth event h copies: each copy is
// awaited before the log moves on, so that it is of the view at that
// event (one due while another is made is made after it).
func writeCopied(t *testing.T, h *host, snaps jetstream.ObjectStore, first uint64, n int, every uint64) {
	t.Helper()
	for i := range n {
		seq := first + uint64(i)
		mustAppend(t, h, draft(fmt.Sprintf("m%d", i), "alice", "bob", fmt.Sprintf("note %d", i)))
		if seq%every == 0 {
			testbin.Eventually(t, copyWait, fmt.Sprintf("a copy of the views at event %d", seq), func() bool {
				names := objectNames(snaps)
				return len(names) > 0 && names[len(names)-1] >= fmt.Sprintf("view-%020d", seq)
			})
		}
	}
}

// A broker whose running view lags behind the log's start (its host
// asleep while the others wrote two intervals) restores the newest copy
// in place and goes on: it reads all the mail, and writes.
func TestLaggingViewRestoresACopyInPlace(t *testing.T) {
	const every = 10
	p := natsmesh.Prefix(t, &shared)
	o := natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}
	natsstore.SnapshotEvery(&o, every)
	copier := &logRecorder{}
	copier.dumpOnFailure(t)
	a := reopenLogged(t, o, slog.New(copier))
	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	b := reopenLogged(t, natsstore.Options{URL: a.opts.URL, Prefix: p, Store: store.Options{Dir: t.TempDir()}}, slog.New(rec))
	snaps := objectStore(t, sharedJetStream(t), p+"-snapshots")
	mustAppend(t, a, draft("first", "alice", "bob", "before the sleep"))
	b.waitUnread(t, "bob", 1)
	// Asleep: the consumer is gone (a new one starts where the log now
	// starts) and the view applies nothing.
	b.StopFollowing()
	release := b.HoldApplying()
	writeCopied(t, a, snaps, 2, 30, every)
	release()

	// B reads event 2 and finds it trimmed, once its replicas had the time
	// to catch up (10 s); then it restores the copy at 30 and applies 31.
	deadline := time.Now().Add(time.Minute)
	var err error
	for n := 0; n != 31; {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute, the lagging view has %d unread for bob (%v); want 31", n, err)
		}
		time.Sleep(10 * time.Millisecond)
		n, err = b.UnreadCount("bob")
	}
	if n := rec.count(slog.LevelInfo, "restored the view from a copy"); n != 1 {
		t.Errorf("the lagging view logged %d restores of a copy, want 1", n)
	}
	if _, err := b.Stats(); err != nil {
		t.Errorf("Stats after the restore: %v", err)
	}
	mustAppend(t, b, draft("awake", "bob", "alice", "back"))
	a.waitUnread(t, "alice", 1)
}

// objectNames lists the names of the objects in bucket, sorted; none if
// the bucket cannot be listed.
func objectNames(bucket jetstream.ObjectStore) []string {
	infos, err := bucket.List(context.Background())
	if err != nil {
		return nil
	}
	var names []string
	for _, info := range infos {
		names = append(names, info.Name)
	}
	slices.Sort(names)
	return names
}

// TestLogStateWithoutItsCopies: status reads where the log stands from the
// log, and lists the copies of the views on their own. Where the list
// fails and the log answers (the copies' bucket gone, or the cluster's
// meta leader lost while the log's servers serve it), the log's state is
// given and the copies are said unknown: the error that said the cluster
// had no quorum, and that writes failed, sent a person after a fault the
// mesh did not have.
func TestLogStateWithoutItsCopies(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, nil)
	mustAppendTo(t, a.Store, draft("m1", "alice", "bob", "before the copies went"))
	js := sharedJetStream(t)
	if err := js.DeleteObjectStore(t.Context(), p+"-snapshots"); err != nil {
		t.Fatal(err)
	}
	st, err := a.LogState(t.Context())
	if err != nil {
		t.Fatalf("LogState with the log answering: %v; want its state", err)
	}
	if st.Last == 0 || st.Applied != st.Last || !strings.Contains(st.CopiesError, "list the copies of the views") {
		t.Errorf("LogState: %+v; want the log's events, all applied, and why the copies are unknown", st)
	}
	mustAppendTo(t, a.Store, draft("m2", "alice", "bob", "a write meanwhile"))
}
