package natsstore

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
)

// viewOf applies events, in order, to a new view with the history
// retention keep of its own, as the broker of a host with that
// IPC_HISTORY_RETENTION would.
func viewOf(t *testing.T, keep time.Duration, events []event) *store.Store {
	t.Helper()
	s := openViewIn(t, t.TempDir(), keep)
	applyTo(t, s, 1, events)
	return s.viewNow()
}

// openViewIn opens the view in dir as openView does, without a cluster:
// the event's time is the view's clock.
func openViewIn(t *testing.T, dir string, keep time.Duration) *Store {
	t.Helper()
	s := &Store{
		viewDir: dir,
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		pending: make(map[string]chan outcome),
		dead:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	view, err := store.Open(store.Options{Dir: dir, NoSync: true, HistoryRetention: keep, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { view.Close() })
	s.view.Store(view)
	return s
}

// applyTo applies events to s as the log's events from seq on.
func applyTo(t *testing.T, s *Store, seq uint64, events []event) {
	t.Helper()
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	for i, ev := range events {
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		s.applyLocked(seq+uint64(i), time.Time{}, data)
	}
	if err := s.failure(); err != nil {
		t.Fatal(err)
	}
}

// Views on hosts with another IPC_HISTORY_RETENTION remove the same read
// messages at the same point of the log, by the retention of the broker
// that wrote the event they sweep at: a reply to a message that one view
// had removed sooner would be refused there alone, and its recipient on
// that host would never see what its sender was told was stored.
func TestViewsSweepByTheWritersRetention(t *testing.T) {
	const hour, month = time.Hour, 30 * 24 * time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(i int, at time.Duration, keep time.Duration, op string, args any) event {
		raw, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		return event{ID: fmt.Sprintf("o.%d", i), Op: op, Time: start.Add(at), Args: raw, Keep: keep}
	}
	// bob reads alice's message; two hours later carol replies to it. The
	// writer's retention is writerKeep.
	events := func(writerKeep time.Duration) []event {
		return []event{
			ev(1, 0, writerKeep, opAppend, appendArgs{Drafts: []store.Draft{{ID: "m1", From: "alice", To: "bob", Content: "old news"}}}),
			ev(2, time.Second, writerKeep, opAck, ackArgs{Name: "bob", IDs: []string{"m1"}}),
			ev(3, 2*hour, writerKeep, opAppend, appendArgs{Drafts: []store.Draft{{ID: "m2", From: "carol", To: "bob", Content: "about that", ReplyTo: "m1"}}}),
		}
	}
	for _, tc := range []struct {
		writerKeep time.Duration
		wantReply  bool
	}{{month, true}, {hour, false}} {
		var held []bool
		for _, own := range []time.Duration{hour, month} {
			view := viewOf(t, own, events(tc.writerKeep))
			_, _, err := view.Get("bob", "m2")
			held = append(held, err == nil)
		}
		if held[0] != tc.wantReply || held[1] != tc.wantReply {
			t.Errorf("written with a retention of %v: the reply is held by the view keeping %v: %v, by the one keeping %v: %v; want %v in both",
				tc.writerKeep, hour, held[0], month, held[1], tc.wantReply)
		}
	}
}

// A view killed after a sweep, before view.json recorded it (it is written
// at most once a second, after the commits), sweeps once opened again at
// the same events as every other view. Going on from view.json's older
// sweep, it swept at the next event, removed a message read an hour
// before that no other view had removed yet, and refused the reply to it
// that every other view stored.
func TestViewOpenedAgainSweepsWhereTheOthersDo(t *testing.T) {
	const hour = time.Hour
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ev := func(i int, at time.Duration, op string, args any) event {
		raw, err := json.Marshal(args)
		if err != nil {
			t.Fatal(err)
		}
		return event{ID: fmt.Sprintf("o.%d", i), Op: op, Time: start.Add(at), Args: raw}
	}
	note := func(i int, at time.Duration) event {
		return ev(i, at, opAppend, appendArgs{Drafts: []store.Draft{{ID: fmt.Sprintf("n%d", i), From: "alice", To: "dave", Content: "note"}}})
	}
	// The views sweep at the first event and at the first one a minute or
	// more after the last sweep: at 0 and at 1 h, where m1, read at 1 s,
	// is kept. The next is due at 1 h 1 min; m1 is removed then, after
	// carol's reply to it at 1 h 3 s.
	events := []event{
		ev(1, 0, opAppend, appendArgs{Drafts: []store.Draft{{ID: "m1", From: "alice", To: "bob", Content: "old news"}}}),
		ev(2, time.Second, opAck, ackArgs{Name: "bob", IDs: []string{"m1"}}),
		note(3, hour),
		note(4, hour+2*time.Second),
		ev(5, hour+3*time.Second, opAppend, appendArgs{Drafts: []store.Draft{{ID: "m2", From: "carol", To: "bob", Content: "about that", ReplyTo: "m1"}}}),
	}
	if _, _, err := viewOf(t, hour, events).Get("bob", "m2"); err != nil {
		t.Fatalf("a view applying the log without a stop does not hold the reply: %v", err)
	}

	// Killed after event 3 and its sweep were committed; view.json was
	// last written after event 2.
	dir := t.TempDir()
	s := openViewIn(t, dir, hour)
	applyTo(t, s, 1, events[:3])
	s.mu.Lock()
	saved := s.mark
	s.mu.Unlock()
	if !saved.Swept.Equal(start.Add(hour)) {
		t.Fatalf("the view swept last at %v; want %v (the sweeps of the test are not where it assumes)", saved.Swept, start.Add(hour))
	}
	saved.Applied, saved.Swept = 2, start
	if err := s.viewNow().Close(); err != nil {
		t.Fatal(err)
	}

	again := openViewIn(t, dir, hour)
	m, err := resume(again.viewNow(), saved)
	if err != nil {
		t.Fatal(err)
	}
	if m.Applied != 3 || !m.Swept.Equal(start.Add(hour)) {
		t.Errorf("opened again, the view goes on after event %d, swept last at %v; want event 3, %v", m.Applied, m.Swept, start.Add(hour))
	}
	again.mark = m
	again.seq.Store(m.Applied)
	applyTo(t, again, 4, events[3:])
	if _, _, err := again.viewNow().Get("bob", "m2"); err != nil {
		t.Errorf("the view opened again does not hold carol's reply, which every other view stores: %v", err)
	}
}
