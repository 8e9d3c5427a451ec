package ipc_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// logRecord is one line the broker logged.
type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

// logRecorder is a slog.Handler that keeps what the broker logs.
type logRecorder struct {
	mu      sync.Mutex
	records []logRecord
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	lr := logRecord{level: rec.Level, msg: rec.Message, attrs: map[string]string{}}
	rec.Attrs(func(a slog.Attr) bool {
		lr.attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, lr)
	return nil
}

// atLeast returns the records of level or above.
func (r *logRecorder) atLeast(level slog.Level) []logRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []logRecord
	for _, rec := range r.records {
		if rec.level >= level {
			out = append(out, rec)
		}
	}
	return out
}

// stallingStore is the broker's store with writes that stall, as on a
// disk that hangs: while stall is set, a send or an ack waits until its
// request's context ends and is then made with that context, which the
// store refuses as it refuses any write whose caller is gone. With fail
// set, they fail at once with fail instead.
type stallingStore struct {
	ipc.Store
	stall   atomic.Bool
	entered chan string // the op of each write that stalls
	fail    error
}

func (s *stallingStore) hold(ctx context.Context, op string) error {
	if s.fail != nil {
		return s.fail
	}
	if s.stall.Load() {
		s.entered <- op
		<-ctx.Done()
	}
	return nil
}

func (s *stallingStore) AppendEarly(ctx context.Context, drafts []store.Draft, early func([]store.Delivery)) ([]store.Delivery, error) {
	if err := s.hold(ctx, "send"); err != nil {
		return nil, err
	}
	return s.Store.AppendEarly(ctx, drafts, early)
}

func (s *stallingStore) Ack(ctx context.Context, name string, ids []string) (int, error) {
	if err := s.hold(ctx, "ack"); err != nil {
		return 0, err
	}
	return s.Store.Ack(ctx, name, ids)
}

// startStalling starts a broker on a stallingStore whose log goes to logs.
func startStalling(t *testing.T, logs *logRecorder, fail error) (*mesh, *stallingStore) {
	t.Helper()
	o := meshOptions{Config: ipc.Config{Logger: slog.New(logs)}}
	o.Store.Dir = t.TempDir()
	st, err := store.Open(o.Store)
	if err != nil {
		t.Fatal(err)
	}
	s := &stallingStore{Store: st, entered: make(chan string, 1), fail: fail}
	return serveMesh(t, s, o), s
}

// A client that goes away while its request runs (it quit, or was stopped
// and its connection dropped) ends the request: a check waiting for mail,
// or a send or an ack whose store write stalls until then and is then
// refused for the client's context. That is no fault of the broker's, to
// log as an error (before, "request failed ... context canceled" at
// ERROR, and an answer "internal: the broker failed: context canceled").
func TestClientGoneMidRequestIsNoError(t *testing.T) {
	for _, tc := range []struct {
		op  string
		req any
	}{
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: time.Hour.Milliseconds()}},
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "alice", Content: "hi"}}},
		{ipc.OpAck, ipc.AckRequest{IDs: []string{"some-message-id"}}},
	} {
		t.Run(tc.op, func(t *testing.T) {
			var logs logRecorder
			m, st := startStalling(t, &logs, nil)
			watcher := m.dial(t)
			m.join(t, "alice")
			bob := m.join(t, "bob")
			status := func() ipc.StatusResult {
				var s ipc.StatusResult
				watcher.must(t, ipc.OpStatus, nil, &s)
				return s
			}
			st.stall.Store(true)
			answered := make(chan error, 1)
			go func() { answered <- bob.Call(context.Background(), tc.op, tc.req, nil) }()
			if tc.op == ipc.OpCheck {
				testbin.Eventually(t, 10*time.Second, "bob's check to wait for mail", func() bool { return status().Waiting == 1 })
			} else if op := <-st.entered; op != tc.op {
				t.Fatalf("the store stalled a %s, want the %s", op, tc.op)
			}
			bob.Close()
			<-answered
			// The broker lets a connection go once its requests have
			// ended and answered: alice's and the watcher's are left.
			testbin.Eventually(t, 10*time.Second, "the broker to let bob's connection go", func() bool { return status().Connections == 2 })
			for _, rec := range logs.atLeast(slog.LevelWarn) {
				t.Errorf("the broker logged %s %q %v for the %s of a client that went away", rec.level, rec.msg, rec.attrs, tc.op)
			}
		})
	}
}

// A context error that is not the end of the connection's context (a
// deadline of the store's own) is a failure: answered as internal, and
// logged as an error.
func TestStoreContextErrorIsStillAFailure(t *testing.T) {
	var logs logRecorder
	m, _ := startStalling(t, &logs, fmt.Errorf("commit: %w", context.DeadlineExceeded))
	m.join(t, "alice")
	bob := m.join(t, "bob")
	err := bob.call(ipc.OpAck, ipc.AckRequest{IDs: []string{"some-message-id"}}, nil)
	if ipcmesh.CodeOf(err) != ipcmesh.CodeInternal || !strings.Contains(err.Error(), "deadline exceeded") {
		t.Fatalf("an ack whose store failed with its own deadline: %v; want internal, saying so", err)
	}
	if errs := logs.atLeast(slog.LevelError); len(errs) != 1 || errs[0].msg != "request failed" {
		t.Errorf("the broker logged %+v at error; want the one failed request", errs)
	}
}
