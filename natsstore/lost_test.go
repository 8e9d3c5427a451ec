package natsstore_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/natsstore"
	"github.com/ipcmesh/ipcmesh/store"
)

// A large event whose object the bodies bucket no longer holds (an
// operator removed it, the bucket was damaged) is applied without its
// body: the message is delivered, with its id, sender, recipient, thread
// and type, and a body that says what was lost; the view logs the loss
// once and applies the events after it. Every view that reads the event
// after the loss holds the same, and so does it once restarted.
func TestLostLargeBodyIsDeliveredAsWhatWasLost(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	a := openHost(t, p, nil)
	bodies := objectStore(t, sharedJetStream(t), p+"-bodies")
	// Event 1, and event 2: the large answer to it.
	mustAppend(t, a, draft("ask", "bob", "alice", "send me the build log"))
	body := strings.Repeat("0123456789abcdef", 1<<17) // 2 MiB: in the object store
	big := draft("big", "alice", "bob", body)
	big.ReplyTo, big.Type = "ask", ipcmesh.TypeResponse
	sent := mustAppend(t, a, big)
	var objects []string
	eventually(t, "the bodies bucket to list the large message's object", func() bool {
		objects = objectNames(bodies)
		return len(objects) == 1
	})
	deleteObject(t, bodies, objects[0])
	// Events 3 and 4: a small message and a large one whose body is there.
	after := mustAppend(t, a, draft("after", "alice", "bob", "and a small one"))
	body2 := strings.Repeat("fedcba9876543210", 1<<17)
	mustAppend(t, a, draft("big2", "alice", "bob", body2))

	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	b := reopenLogged(t, natsstore.Options{URL: a.opts.URL, Prefix: p, Store: store.Options{Dir: t.TempDir()}}, slog.New(rec))
	placeholder := checkLost(t, "a new view", b, sent.Message, after.Message, body2)
	if got := rec.attrs(slog.LevelError, "lost"); len(got) != 1 ||
		!strings.Contains(got[0], "object="+objects[0]) || !strings.Contains(got[0], "seq=2") {
		t.Errorf("a new view logged %q; want one error naming the object %s and event 2", got, objects[0])
	}
	for _, want := range []string{"lost", "2097152 bytes", "object store", objects[0]} {
		if !strings.Contains(placeholder, want) {
			t.Errorf("the lost body reads %q; want it to say %q", placeholder, want)
		}
	}
	// The view recorded the event's object, as it records every large
	// event it applies: the sweep keeps it, should the bucket give it back.
	if !b.NamesBody(objects[0]) {
		t.Errorf("the view did not record that event 2 names the object %s", objects[0])
	}

	// Restarted, the view is past the event: it holds the same and logs
	// nothing again.
	b.Close()
	again := &logRecorder{}
	again.dumpOnFailure(t)
	b = reopenLogged(t, b.opts, slog.New(again))
	if got := checkLost(t, "the restarted view", b, sent.Message, after.Message, body2); got != placeholder {
		t.Errorf("the restarted view's lost body reads %q; want %q", got, placeholder)
	}
	if got := again.attrs(slog.LevelError, ""); len(got) != 0 {
		t.Errorf("the restarted view logged errors %q; want none", got)
	}
	// Another new view holds the same.
	c := openHost(t, p, nil)
	if got := checkLost(t, "another new view", c, sent.Message, after.Message, body2); got != placeholder {
		t.Errorf("another new view's lost body reads %q; want %q", got, placeholder)
	}
	// The view that applied the event before the loss keeps its body.
	if _, content, err := a.Get("bob", "big"); err != nil || content != body {
		t.Errorf("the writer's Get(big) = %d bytes, %v; want the whole %d bytes it applied", len(content), err, len(body))
	}
	// And the mesh goes on: a write on the new view reaches the others.
	mustAppend(t, b, draft("thanks", "bob", "alice", "got it"))
	a.waitUnread(t, "alice", 2)
	c.waitUnread(t, "alice", 2)
}

// checkLost checks that h's view delivers the large message of event 2,
// sent as want, with its body lost, and the messages after it; it
// returns the lost body as the view holds it.
func checkLost(t *testing.T, who string, h *host, want, after ipcmesh.Message, body2 string) string {
	t.Helper()
	msgs, err := h.Unread("bob", 10)
	if err != nil || len(msgs) != 3 || msgs[0].ID != "big" || msgs[1].ID != "after" || msgs[2].ID != "big2" {
		t.Fatalf("%s: Unread(bob) = %d messages (first %v), %v; want big, after and big2", who, len(msgs), first(msgs), err)
	}
	m, content, err := h.Get("bob", "big")
	if err != nil {
		t.Fatalf("%s: Get(big): %v", who, err)
	}
	if m.ID != want.ID || m.Seq != want.Seq || m.From != want.From || m.To != want.To || !m.Time.Equal(want.Time) ||
		m.Type != want.Type || m.ReplyTo != want.ReplyTo || m.Thread != want.Thread || m.Thread != "ask" {
		t.Errorf("%s: the lost message is %+v; want it as sent, %+v", who, m, want)
	}
	if msgs[1].Seq != after.Seq {
		t.Errorf("%s: the message after the lost one has seq %d; want %d, as on the writer", who, msgs[1].Seq, after.Seq)
	}
	if _, got, err := h.Get("bob", "big2"); err != nil || got != body2 {
		t.Errorf("%s: Get(big2) = %d bytes, %v; want the whole %d bytes of the large event after the lost one", who, len(got), err, len(body2))
	}
	return content
}

// A large shared value whose object the bucket lost is held under its
// key, by whom it was stored, in the words of its loss. A large event an
// older broker wrote names only its object: lost, it says nothing of what
// it held, and the views skip it. Either way the view logs the loss and
// applies the events after it.
func TestLostSharedValueAndOlderLargeEvent(t *testing.T) {
	p := natsmesh.Prefix(t, &shared)
	rec := &logRecorder{}
	rec.dumpOnFailure(t)
	a := reopenLogged(t, natsstore.Options{URL: shared.Get(t).URL(), Prefix: p, Store: store.Options{Dir: t.TempDir()}}, slog.New(rec))
	ctx := context.Background()
	mustAppend(t, a, draft("before", "alice", "bob", "before the lost event"))
	// Event 2, as an older broker writes a large event, whose object is
	// not in the bucket: the running view applies it.
	js := sharedJetStream(t)
	stub := `{"id":"0123456789abcdef.7","op":"blob","time":"2025-01-02T03:04:05Z","args":null}`
	publishOnce(t, js, p+".log", []byte(stub))
	mustAppend(t, a, draft("after", "alice", "bob", "after the lost event"))
	a.waitUnread(t, "bob", 2)
	if got := rec.attrs(slog.LevelError, "lost"); len(got) != 1 ||
		!strings.Contains(got[0], "object=0123456789abcdef.7") || !strings.Contains(got[0], "seq=2") {
		t.Errorf("the view logged %q; want one error naming the object and event 2", got)
	}

	// Event 4: a large shared value, whose object is then lost.
	value := strings.Repeat("0123456789abcdef", 1<<17)
	if _, err := a.Share(ctx, ipcmesh.Shared{Key: "build-log", Description: "the full log", StoredBy: "alice", Content: value}); err != nil {
		t.Fatal(err)
	}
	bodies := objectStore(t, js, p+"-bodies")
	var objects []string
	eventually(t, "the bodies bucket to list the shared value's object", func() bool {
		objects = objectNames(bodies)
		return len(objects) == 1
	})
	deleteObject(t, bodies, objects[0])
	mustAppend(t, a, draft("last", "alice", "bob", "after the lost value"))

	b := openHost(t, p, nil)
	msgs, err := b.Unread("bob", 10)
	if err != nil || len(msgs) != 3 || msgs[1].ID != "after" || msgs[2].ID != "last" {
		t.Fatalf("a new view's Unread(bob) = %d messages, %v; want before, after and last", len(msgs), err)
	}
	sh, err := b.GetShared("build-log")
	if err != nil || sh.StoredBy != "alice" || sh.Description != "the full log" ||
		!strings.Contains(sh.Content, "shared value (2097152 bytes) was lost") || !strings.Contains(sh.Content, objects[0]) {
		t.Errorf("a new view's GetShared(build-log) = %+v, %v; want alice's value, in the words of its loss", sh, err)
	}
	if ds, err := b.Append(ctx, []store.Draft{draft("reply", "bob", "alice", "read you")}); err != nil || ds[0].Err != nil {
		t.Fatalf("a write on the new view: %v, %v", ds, err)
	}
	a.waitUnread(t, "alice", 1)
}

// attrs returns, for each record at level whose message contains s, its
// message and attributes as one line.
func (r *logRecorder) attrs(level slog.Level, s string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var lines []string
	for _, rec := range r.recs {
		if rec.Level != level || !strings.Contains(rec.Message, s) {
			continue
		}
		line := rec.Message
		rec.Attrs(func(a slog.Attr) bool {
			line += " " + a.String()
			return true
		})
		lines = append(lines, line)
	}
	return lines
}

// deleteObject removes the object name from bucket, as an operator
// would, asked again while the cluster fails to answer for a moment: a
// removal made again marks the object removed once more.
func deleteObject(t *testing.T, bucket jetstream.ObjectStore, name string) {
	t.Helper()
	err := settled(t.Context(), func(ctx context.Context) error {
		return bucket.Delete(ctx, name)
	})
	if err != nil {
		t.Fatalf("remove the object %s: %v", name, err)
	}
}
