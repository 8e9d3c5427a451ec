package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesPrivateFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", s.Dir(), dir)
	}
	o := s.Options()
	if o.LargeMessageBytes != 10240 || o.MaxMessageBytes != 8<<20 || o.InboxCap != 100000 ||
		o.HistoryRetention != 30*24*time.Hour || o.QueueRetention != 7*24*time.Hour ||
		o.ForwardFor != 2*time.Hour || o.DedupRetention != 24*time.Hour ||
		o.LockTimeout != 2*time.Second || o.Now == nil {
		t.Errorf("defaults not filled in: %+v", o)
	}
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	for path, want := range map[string]os.FileMode{
		dir:                                  0o700 | os.ModeDir,
		filepath.Join(dir, "large-messages"): 0o700 | os.ModeDir,
		filepath.Join(dir, "ipcmesh.db"):     0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
}

func TestOpenNeedsDir(t *testing.T) {
	if _, err := Open(Options{}); err == nil {
		t.Fatal("Open without Dir succeeded")
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	s, _ := openTest(t, nil)
	_, err := Open(Options{Dir: s.Dir(), LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, filepath.Join(s.Dir(), "ipcmesh.db")) || !strings.Contains(msg, "another ipcmesh broker is using") {
		t.Errorf("error should name the file and the other broker: %q", msg)
	}
}

func TestReopenKeepsUnreadMail(t *testing.T) {
	clk := newClock()
	opts := Options{Dir: t.TempDir(), Now: clk.Now}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "alice", "bob")
	for _, id := range ids("m", 3) {
		send(t, s, id, "alice", "bob", "hello "+id)
	}
	if _, err := s.Ack(context.Background(), "bob", []string{"m0"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := register2(s); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v, want ErrClosed", err)
	}
	// Reads say so too, in the same words, whatever they read.
	if _, err := s.Stats(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Stats after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Unread("bob", 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Unread after Close: %v, want ErrClosed", err)
	}

	s, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "m1,m2" {
		t.Errorf("unread after reopen = %s, want m1,m2", got)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 2, Messages: 3, Unread: 2}) {
		t.Errorf("Stats after reopen = %+v", st)
	}
	// The sequence carries on rather than restarting.
	d := send(t, s, "m3", "alice", "bob", "after")
	if d.Message.Seq != 4 {
		t.Errorf("seq after reopen = %d, want 4", d.Message.Seq)
	}
}

func register2(s *Store) error {
	return s.PutSession(context.Background(), Session{Name: "carol", ID: "x"})
}

func TestCloseFlushesQueuedWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	errs := make(chan error, 50)
	for i := range 50 {
		go func() {
			_, err := s.Append(context.Background(), []Draft{{ID: ids("c", 50)[i], From: "alice", To: "bob", Content: "x"}})
			errs <- err
		}()
	}
	var stored int
	for range 50 {
		if err := <-errs; err == nil {
			stored++
		} else if !errors.Is(err, ErrClosed) {
			t.Errorf("Append: %v", err)
		}
		if stored == 10 {
			// Close while others may still be queued: those must commit
			// or be refused, never lost after being accepted.
			go s.Close()
		}
	}
	s.Close()
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, _ := s.UnreadCount("bob"); n != stored {
		t.Errorf("after Close %d messages are on disk, but %d Appends succeeded", n, stored)
	}
}
