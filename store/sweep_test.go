package store

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func TestSweepHistory(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	big := send(t, s, "big", "alice", "bob", strings.Repeat("large body ", 10))
	send(t, s, "small", "alice", "bob", "small")
	send(t, s, "unread", "alice", "bob", "never read")
	s.Ack(context.Background(), "bob", []string{"big"})
	clk.Advance(10 * 24 * time.Hour)
	s.Ack(context.Background(), "bob", []string{"small"})

	// Just past 30 days after the first ack: only big is due.
	clk.Advance(20*24*time.Hour + time.Minute)
	st, err := s.Sweep(context.Background())
	if err != nil || st != (SweepStats{History: 1}) {
		t.Fatalf("Sweep = %+v, %v; want 1 history", st, err)
	}
	_, _, err = s.Get("bob", "big")
	wantCode(t, err, ipcmesh.CodeNotFound)
	if _, err := os.Stat(big.Message.Path); !os.IsNotExist(err) {
		t.Fatalf("spill file of a swept message: %v", err)
	}
	if _, _, err := s.Get("bob", "small"); err != nil {
		t.Fatalf("small swept too early: %v", err)
	}
	// The id is free again once its message is gone.
	if d := send(t, s, "big", "alice", "bob", "reused"); d.Duplicate {
		t.Fatal("id of a swept message still deduplicated")
	}

	clk.Advance(10 * 24 * time.Hour)
	if st, _ := s.Sweep(context.Background()); st.History != 1 {
		t.Fatalf("second Sweep = %+v", st)
	}
	// Unread mail to a registered name never expires.
	if got := strings.Join(unreadIDs(t, s, "bob"), ","); got != "unread,big" {
		t.Fatalf("unread = %s", got)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 1, Messages: 2, Unread: 2}) {
		t.Fatalf("Stats = %+v", st)
	}
}

func TestSweepQueued(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	lost := send(t, s, "lost", "alice", "nobody", strings.Repeat("large body ", 10))
	send(t, s, "kept", "alice", "latecomer", "hi")
	clk.Advance(24 * time.Hour)
	send(t, s, "young", "alice", "nobody", "too young to expire")
	register(t, s, "latecomer")

	clk.Advance(6*24*time.Hour + time.Minute)
	st, err := s.Sweep(context.Background())
	if err != nil || st != (SweepStats{Queued: 1}) {
		t.Fatalf("Sweep = %+v, %v; want 1 queued", st, err)
	}
	if got := strings.Join(unreadIDs(t, s, "nobody"), ","); got != "young" {
		t.Fatalf("nobody's unread = %s, want young", got)
	}
	if _, err := os.Stat(lost.Message.Path); !os.IsNotExist(err) {
		t.Fatalf("spill file of expired queued mail: %v", err)
	}
	// Mail for a name that registered in time is ordinary unread mail.
	if got := strings.Join(unreadIDs(t, s, "latecomer"), ","); got != "kept" {
		t.Fatalf("latecomer's unread = %s", got)
	}
	clk.Advance(365 * 24 * time.Hour)
	if st, _ := s.Sweep(context.Background()); st != (SweepStats{Queued: 1}) {
		t.Fatalf("late Sweep = %+v, want only young", st)
	}
	if got := unreadIDs(t, s, "latecomer"); len(got) != 1 {
		t.Fatal("registered mail expired")
	}
	if c, _ := s.UnreadCount("nobody"); c != 0 {
		t.Fatalf("UnreadCount(nobody) = %d", c)
	}
	if st, _ := s.Stats(); st != (Stats{Instances: 1, Messages: 1, Unread: 1}) {
		t.Fatalf("Stats = %+v", st)
	}
}

// TestSweepOrphanFiles plants what a broker killed in the middle of a
// spilled send leaves behind: a body file no record names. Only the old
// ones go; a young orphan may be a send still on its way to the disk, and
// goes once it is past the grace; files that records name stay however old,
// and so does a file the store would never have named.
func TestSweepOrphanFiles(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	named := send(t, s, "big", "alice", "bob", strings.Repeat("large body ", 10)).Message.Path
	if _, err := s.Share(context.Background(), ipcmesh.Shared{Key: "spec", Content: strings.Repeat("large value ", 10), StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	sharedNamed := onlyFile(t, s.sharedDir)
	now := clk.Now()
	plant := func(dir, name string, age time.Duration) string {
		t.Helper()
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); os.IsNotExist(err) {
			if err := os.WriteFile(path, []byte("partial body"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(path, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return path
	}
	oldOrphan := plant(s.largeDir, newSpillName(now.Add(-3*time.Hour)), 3*time.Hour)
	oldSharedOrphan := plant(s.sharedDir, newSpillName(now.Add(-2*time.Hour)), 2*time.Hour)
	youngOrphan := plant(s.largeDir, newSpillName(now.Add(-10*time.Minute)), 10*time.Minute)
	notOurs := plant(s.largeDir, "notes.txt", 48*time.Hour)
	plant(s.largeDir, filepath.Base(named), 48*time.Hour)
	plant(s.sharedDir, filepath.Base(sharedNamed), 48*time.Hour)

	st, err := s.Sweep(context.Background())
	if err != nil || st != (SweepStats{Orphans: 2}) {
		t.Fatalf("Sweep = %+v, %v; want 2 orphans", st, err)
	}
	for path, want := range map[string]bool{
		oldOrphan: false, oldSharedOrphan: false,
		youngOrphan: true, notOurs: true, named: true, sharedNamed: true,
	} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: kept %v (stat: %v), want kept %v", filepath.Base(path), err == nil, err, want)
		}
	}
	if _, body, err := s.Get("bob", "big"); err != nil || body != strings.Repeat("large body ", 10) {
		t.Errorf("the named body: %q, %v", body, err)
	}

	// Past the grace, the young orphan goes too.
	clk.Advance(time.Hour)
	if st, err := s.Sweep(context.Background()); err != nil || st != (SweepStats{Orphans: 1}) {
		t.Fatalf("Sweep an hour later = %+v, %v; want 1 orphan", st, err)
	}
	if _, err := os.Stat(youngOrphan); !os.IsNotExist(err) {
		t.Errorf("the orphan past the grace is still there (stat: %v)", err)
	}
	if sh, err := s.GetShared("spec"); err != nil || sh.Content != strings.Repeat("large value ", 10) {
		t.Errorf("the named shared value: %q, %v", sh.Content, err)
	}
}

// onlyFile returns the path of the one file in dir.
func onlyFile(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Fatalf("%s holds %d entries (%v), want 1", dir, len(entries), err)
	}
	return filepath.Join(dir, entries[0].Name())
}

// The orphan sweep follows no link and removes nothing but the files it
// could have made (SECURITY.md 3.11): a symbolic link named as a spill
// file, old enough and named by no record, is left alone, and so is the
// file it points to.
func TestSweepLeavesALinkAlone(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need a privilege on Windows")
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, largeDir), 0o700); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "notes.md")
	if err := os.WriteFile(target, []byte("the user's own file"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, largeDir, newSpillName(time.Now().Add(-3*time.Hour)))
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	// The store's clock runs hours ahead, so the link is past the grace.
	later := func() time.Time { return time.Now().Add(3 * time.Hour) }
	s, err := Open(Options{Dir: dir, Now: later})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if st, err := s.Sweep(context.Background()); err != nil || st.Orphans != 0 {
		t.Fatalf("Sweep = %+v, %v; want no orphan", st, err)
	}
	if _, err := os.Lstat(link); err != nil {
		t.Errorf("the link was removed: %v", err)
	}
	if b, err := os.ReadFile(target); err != nil || string(b) != "the user's own file" {
		t.Errorf("the file the link points to: %q, %v", b, err)
	}
}
