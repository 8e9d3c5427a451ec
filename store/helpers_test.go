package store

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// openTest opens a store in a fresh folder with a test clock; tweak may
// adjust the options first.
func openTest(t testing.TB, tweak func(*Options)) (*Store, *clock) {
	t.Helper()
	clk := newClock()
	opts := Options{Dir: t.TempDir(), Now: clk.Now}
	if tweak != nil {
		tweak(&opts)
	}
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, clk
}

func register(t testing.TB, s *Store, names ...string) {
	t.Helper()
	for _, name := range names {
		sess := Session{Name: name, ID: "sess-" + name, Expires: s.now().Add(24 * time.Hour)}
		if err := s.PutSession(context.Background(), sess); err != nil {
			t.Fatalf("PutSession(%s): %v", name, err)
		}
	}
}

// send appends one message and fails the test unless it was stored.
func send(t testing.TB, s *Store, id, from, to, content string) Delivery {
	t.Helper()
	ds, err := s.Append(context.Background(), []Draft{{ID: id, From: from, To: to, Content: content}})
	if err != nil {
		t.Fatalf("Append %s: %v", id, err)
	}
	if ds[0].Err != nil {
		t.Fatalf("Append %s: refused: %v", id, ds[0].Err)
	}
	return ds[0]
}

func unreadIDs(t testing.TB, s *Store, name string) []string {
	t.Helper()
	msgs, err := s.Unread(name, 1<<30)
	if err != nil {
		t.Fatalf("Unread(%s): %v", name, err)
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	return ids
}

func wantCode(t testing.TB, err error, code ipcmesh.Code) {
	t.Helper()
	if got := ipcmesh.CodeOf(err); got != code {
		t.Fatalf("error = %v (code %q), want code %q", err, got, code)
	}
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
