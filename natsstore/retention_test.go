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
	dir := t.TempDir()
	s := &Store{
		viewDir: dir,
		log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		pending: make(map[string]chan outcome),
		dead:    make(chan struct{}),
		quit:    make(chan struct{}),
	}
	// As openView opens it: the event's time is the view's clock.
	view, err := store.Open(store.Options{Dir: dir, NoSync: true, HistoryRetention: keep, Now: s.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { view.Close() })
	s.view.Store(view)
	s.applyMu.Lock()
	defer s.applyMu.Unlock()
	for i, ev := range events {
		data, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		s.applyLocked(uint64(i+1), time.Time{}, data)
	}
	if err := s.failure(); err != nil {
		t.Fatal(err)
	}
	return view
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
