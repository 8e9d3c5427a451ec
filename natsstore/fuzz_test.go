package natsstore

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
)

// FuzzParseURL: whatever IPC_STORE holds, ParseURL answers with servers
// of the nats or tls scheme or an error, never a panic.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"nats://127.0.0.1:4222", "nats://a:1,nats://b:2", "tls://u:p@h:4222", "", ",", "http://x", "nats://", "nats://[::1]:4222, nats://h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		urls, err := ParseURL(s)
		if err == nil && len(urls) == 0 {
			t.Fatalf("ParseURL(%q) gave no servers and no error", s)
		}
	})
}

// FuzzApply feeds arbitrary bytes to a view as events of the log, as
// anyone with write access to the stream could: the view never panics,
// and what it refuses it refuses as a decision or stops, never half-way.
func FuzzApply(f *testing.F) {
	for _, s := range []string{
		`{"id":"o.1","op":"append","time":"2026-01-01T00:00:00Z","args":{"drafts":[{"ID":"m1","From":"a","To":"b","Content":"hi"}]}}`,
		`{"id":"o.2","op":"ack","time":"2026-01-01T00:00:01Z","args":{"name":"b","ids":["m1"]}}`,
		`{"id":"o.3","op":"put_session","time":"2026-01-01T00:00:02Z","args":{"Name":"b","ID":"s","Expires":"2027-01-01T00:00:00Z"}}`,
		`{"id":"o.4","op":"rename","time":"2026-01-01T00:00:03Z","args":{"old":"b","session":{"Name":"c","ID":"t"},"request_id":"r"}}`,
		`{"id":"o.5","op":"create_channel","args":{"name":"ops","members":["a"]}}`,
		`{"id":"o.6","op":"touch","args":{"a":"2026-01-01T00:00:00Z"}}`,
		`{"op":"append","args":{"drafts":[{"ID":"../../x","From":"","To":"b/../c"}]}}`,
		`{"op":"share","args":{"key":"k","content":"v"}}`,
		`{"op":"nonsense"}`, `not json`, ``, `{"op":"append","args":null}`,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	view, err := store.Open(store.Options{Dir: dir, NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { view.Close() })
	var seq uint64
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &Store{
			viewDir: dir, // where the view's mark is written, not the package's folder
			log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			pending: make(map[string]chan outcome),
			dead:    make(chan struct{}),
			quit:    make(chan struct{}),
		}
		seq++
		s.view.Store(view)
		s.seq.Store(seq - 1)
		s.applyMu.Lock()
		s.applyLocked(seq, time.Time{}, data)
		s.applyMu.Unlock()
		if s.failure() == nil && s.applied() != seq {
			t.Fatalf("event %d neither applied nor stopped the view", seq)
		}
	})
}
