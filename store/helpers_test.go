package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
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

// child is a test run again in a child process of the test binary, with a
// variable set that makes it play its part there (see crashChild).
type child struct {
	cmd    *exec.Cmd
	lines  *bufio.Scanner // its stdout
	stderr strings.Builder
}

// startChild starts the test named test in a child process, with env set
// to dir.
func startChild(t *testing.T, test, env, dir string) *child {
	t.Helper()
	c := &child{cmd: exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+test+"$", "-test.count=1")}
	c.cmd.Env = append(os.Environ(), env+"="+dir)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.lines = bufio.NewScanner(out)
	return c
}

// acked reads the ids of the sends the child says it acked ("acked ID"),
// until it has n of them or the child's stdout ends.
func (c *child) acked(n int) []string {
	var ids []string
	for len(ids) < n && c.lines.Scan() {
		if id, ok := strings.CutPrefix(c.lines.Text(), "acked "); ok {
			ids = append(ids, id)
		}
	}
	return ids
}

// kill ends the child with SIGKILL, as a crash would, and waits for it.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}
