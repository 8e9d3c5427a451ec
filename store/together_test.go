package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ipcmesh/ipcmesh"
)

// lastTx is the id of the store's last commit.
func lastTx(t *testing.T, s *Store) int {
	t.Helper()
	tx, err := s.db.Begin(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	return tx.ID()
}

func openNoSync(t *testing.T) *Store {
	t.Helper()
	s, _ := openTest(t, func(o *Options) { o.NoSync = true })
	return s
}

// TestTogetherIsOneCommit: the writes of a Together each read the ones
// before them, are answered before they are committed, unseen by reads
// until then, and go to the store in one commit.
func TestTogetherIsOneCommit(t *testing.T) {
	s := openNoSync(t)
	register(t, s, "alice", "bob")
	ctx := context.Background()
	before := lastTx(t, s)
	err := s.Together(ctx, func(ctx context.Context) error {
		if _, err := s.Append(ctx, []Draft{{ID: "m1", From: "alice", To: "bob", Content: "one"}}); err != nil {
			return err
		}
		ds, err := s.Append(ctx, []Draft{{ID: "m1", From: "alice", To: "bob", Content: "one"}})
		if err != nil {
			return err
		}
		if !ds[0].Duplicate {
			t.Errorf("the second send of m1 in the Together: %+v; want a duplicate of the first", ds[0])
		}
		if _, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "alice"}); err != nil {
			return err
		}
		if _, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", CreatedBy: "bob"}); ipcmesh.CodeOf(err) != ipcmesh.CodeNameTaken {
			t.Errorf("the second channel #ops in the Together: %v; want name_taken", err)
		}
		if _, ok, err := s.Lookup("m1"); ok || err != nil {
			t.Errorf("a read during the Together found m1 (%v, %v): want it unseen until the commit", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Together: %v", err)
	}
	if n := lastTx(t, s) - before; n != 1 {
		t.Errorf("the Together made %d commits, want 1", n)
	}
	if _, ok, err := s.Lookup("m1"); !ok || err != nil {
		t.Errorf("m1 after the Together: %v, %v; want it stored", ok, err)
	}
	if ch, ok, err := s.Channel("ops"); !ok || err != nil || ch.CreatedBy != "alice" {
		t.Errorf("#ops after the Together: %+v, %v, %v; want alice's", ch, ok, err)
	}
}

// TestTogetherCommitsNothingOnFailure: fn's error, a write that fails,
// and a commit that fails each leave the store as it was, and a shared
// value replaced in the Together keeps its file.
func TestTogetherCommitsNothingOnFailure(t *testing.T) {
	s := openNoSync(t)
	register(t, s, "alice", "bob")
	ctx := context.Background()
	large := strings.Repeat("x", s.opts.LargeMessageBytes+1)
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "k", StoredBy: "alice", Content: "first " + large}); err != nil {
		t.Fatal(err)
	}
	writes := func(ctx context.Context) error {
		if _, err := s.Append(ctx, []Draft{{ID: "m1", From: "alice", To: "bob", Content: "one"}}); err != nil {
			return err
		}
		_, err := s.Share(ctx, ipcmesh.Shared{Key: "k", StoredBy: "alice", Content: "second " + large})
		return err
	}
	unchanged := func(how string) {
		t.Helper()
		if _, ok, err := s.Lookup("m1"); ok || err != nil {
			t.Errorf("%s: m1 found (%v, %v); want nothing of the Together stored", how, ok, err)
		}
		sh, err := s.GetShared("k")
		if err != nil || !strings.HasPrefix(sh.Content, "first ") {
			t.Errorf("%s: the shared value k is %.20q (%v); want the first, whole", how, sh.Content, err)
		}
	}

	mine := errors.New("given up")
	if err := s.Together(ctx, func(ctx context.Context) error {
		if err := writes(ctx); err != nil {
			return err
		}
		return mine
	}); !errors.Is(err, mine) {
		t.Fatalf("Together whose fn failed: %v; want its error", err)
	}
	unchanged("after fn failed")

	fault := errors.New("a write's fault")
	err := s.Together(ctx, func(ctx context.Context) error {
		if err := writes(ctx); err != nil {
			return err
		}
		if err := s.c.submit(ctx, func(*bolt.Tx) error { return fault }); !errors.Is(err, fault) {
			t.Errorf("a write that fails in a Together: %v; want its fault", err)
		}
		if _, err := s.Append(ctx, []Draft{{ID: "m2", From: "alice", To: "bob", Content: "two"}}); err == nil {
			t.Error("a write after one that failed in the Together succeeded; want it failed")
		}
		return nil
	})
	if !errors.Is(err, fault) {
		t.Fatalf("Together with a write that failed: %v; want its fault", err)
	}
	unchanged("after a write failed")

	s.c.commitTx = func(tx *bolt.Tx) error { // the committer's goroutine alone calls it
		tx.Rollback()
		return errors.New("the disk said no")
	}
	err = s.Together(ctx, writes)
	s.c.commitTx = (*bolt.Tx).Commit
	if err == nil {
		t.Fatal("Together whose commit failed returned nil")
	}
	unchanged("after the commit failed")

	// The store goes on, and the writes made again are committed.
	if err := s.Together(ctx, writes); err != nil {
		t.Fatalf("Together: %v", err)
	}
	if sh, err := s.GetShared("k"); err != nil || !strings.HasPrefix(sh.Content, "second ") {
		t.Errorf("the shared value k is %.20q (%v); want the second", sh.Content, err)
	}
}

// TestTogetherRefusesWhatItCannotHold: a sweep reads the store outside
// its write, and a store that syncs its commits has no Together.
func TestTogetherRefusesWhatItCannotHold(t *testing.T) {
	s := openNoSync(t)
	err := s.Together(context.Background(), func(ctx context.Context) error {
		_, err := s.Sweep(ctx)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "Together") {
		t.Errorf("a sweep in a Together: %v; want it refused", err)
	}
	synced, _ := openTest(t, nil)
	if err := synced.Together(context.Background(), func(context.Context) error { return nil }); err == nil {
		t.Error("Together on a store that syncs its commits: nil; want it refused")
	}
}

// TestAppliedIsCommittedWithTheWritesOfItsEvents: the event of the log a
// store records as applied is committed with the writes of a Together,
// unseen before the commit and not at all when the Together fails, and
// a copy of the store (Backup) carries it.
func TestAppliedIsCommittedWithTheWritesOfItsEvents(t *testing.T) {
	s := openNoSync(t)
	register(t, s, "alice", "bob")
	ctx := context.Background()
	applied := func(want uint64, when string) {
		t.Helper()
		if got, err := s.Applied(); err != nil || got != want {
			t.Errorf("%s: Applied = %d, %v; want %d", when, got, err, want)
		}
	}
	applied(0, "before any was recorded")
	run := func(id string, seq uint64, fail error) error {
		return s.Together(ctx, func(ctx context.Context) error {
			if _, err := s.Append(ctx, []Draft{{ID: id, From: "alice", To: "bob", Content: "event " + id}}); err != nil {
				return err
			}
			if err := s.SetApplied(ctx, seq); err != nil {
				return err
			}
			applied(seq-1, "before the commit of event "+id)
			return fail
		})
	}
	if err := run("e1", 1, nil); err != nil {
		t.Fatal(err)
	}
	applied(1, "once the run of e1 is committed")
	given := errors.New("given up")
	if err := run("e2", 2, given); !errors.Is(err, given) {
		t.Fatalf("a Together that gave up: %v; want its error", err)
	}
	applied(1, "once the run of e2 gave up")
	if _, ok, err := s.Lookup("e2"); ok || err != nil {
		t.Errorf("e2 after its run gave up: %v, %v; want it not stored", ok, err)
	}
	if err := s.SetApplied(ctx, 2); err != nil {
		t.Fatal(err)
	}
	applied(2, "recorded on a commit of its own")

	c := copyOf(t, s)
	if got, err := c.Applied(); err != nil || got != 2 {
		t.Errorf("the copy's Applied = %d, %v; want 2", got, err)
	}
}

// TestLastSweepIsCommittedWithTheSweep: a sweep records the store's clock
// in its own commit, which a copy of the store carries.
func TestLastSweepIsCommittedWithTheSweep(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.NoSync = true })
	if got, err := s.LastSweep(); err != nil || !got.IsZero() {
		t.Errorf("before any sweep: LastSweep = %v, %v; want zero", got, err)
	}
	for range 2 {
		clk.Advance(90 * time.Minute)
		want := clk.Now()
		if _, err := s.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, err := s.LastSweep(); err != nil || !got.Equal(want) {
			t.Errorf("after a sweep at %v: LastSweep = %v, %v", want, got, err)
		}
	}
	c := copyOf(t, s)
	if got, err := c.LastSweep(); err != nil || !got.Equal(clk.Now()) {
		t.Errorf("the copy's LastSweep = %v, %v; want %v", got, err, clk.Now())
	}
}

// copyOf opens a copy of s made with Backup.
func copyOf(t *testing.T, s *Store) *Store {
	t.Helper()
	dir := t.TempDir()
	if _, err := s.Backup(DatabasePath(dir)); err != nil {
		t.Fatal(err)
	}
	c, err := Open(Options{Dir: dir, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
