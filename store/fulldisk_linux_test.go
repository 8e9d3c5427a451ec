package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

const fillChild = "IPCMESH_STORE_FILL_DIR"

// A disk that fills up under a stream of sends (here a file size limit,
// which fails a write past it as a full disk does): each send is acked
// and stored, or refused with unavailable, saying the disk is full and
// where; a large body or a backup that finds no room is refused so and
// leaves no file; and once there is room again the store serves again, without
// being opened again, with every acked send. Before, the first commit
// that found no room broke the store until it was opened again: every
// request, reads too, was answered "restart the broker", and the broker,
// which still answered, was never replaced by a peer.
func TestFullDiskRefusesThenMends(t *testing.T) {
	if dir := os.Getenv(fillChild); dir != "" {
		fillAndFree(t, dir)
		return
	}
	dir := t.TempDir()
	acked := startChild(t, "TestFullDiskRefusesThenMends", fillChild, dir).finish(t)
	if len(acked) == 0 {
		t.Fatal("the child acked no send")
	}
	t.Logf("%d sends acked before the disk was full", len(acked))
	s := reopen(t, dir)
	for _, id := range append(acked, "after") {
		if _, ok, err := s.Lookup(id); err != nil || !ok {
			t.Fatalf("acked send %s is missing once opened again (found: %v, err: %v)", id, ok, err)
		}
	}
}

// fillAndFree is the child of TestFullDiskRefusesThenMends: it sends to
// the store in dir until the disk is full, prints "acked ID" for each send
// stored, and gives the room back.
func fillAndFree(t *testing.T, dir string) {
	// The clock moves on at the end, for the refusals to be forgotten.
	var later atomic.Int64
	s, err := Open(Options{Dir: dir, Now: func() time.Time { return time.Now().Add(time.Duration(later.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	// Room for the journal, made at its full size, and for a small
	// database; a large body past it finds none.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: journalSize, Max: lim.Max}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	body := strings.Repeat("x", 2000)
	var acked []string
	var full error
	for i := 0; full == nil; i++ {
		if i == 5000 {
			t.Fatalf("%d sends of %d bytes stored in files of at most %d bytes", i, len(body), journalSize)
		}
		id := fmt.Sprint("m", i)
		ds, err := s.Append(ctx, []Draft{{ID: id, From: "alice", To: "bob", Content: body}})
		switch {
		case err != nil:
			full = err
		case ds[0].Err != nil:
			t.Fatalf("send %s refused: %v", id, ds[0].Err)
		default:
			acked = append(acked, id)
			fmt.Println("acked", id)
		}
	}
	wantFull(t, "a send", full, dir)
	_, err = s.Unread("bob", 10)
	wantFull(t, "a read", err, dir)
	// The store answers nothing now, but the disk's side still does.
	if d := s.Disk(); d.Refused.Err == nil || !d.Refused.Taken.IsZero() {
		t.Errorf("Disk while the store is broken: %+v; want the refusal, and no write taken after it", d)
	}
	big := strings.Repeat("y", journalSize)
	_, err = s.Append(ctx, []Draft{{ID: "big", From: "alice", To: "bob", Content: big}})
	wantFull(t, "a large send", err, dir)
	if left, _ := os.ReadDir(filepath.Join(dir, largeDir)); len(left) > 0 {
		t.Errorf("a large body that found no room left %s", left[0].Name())
	}

	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	got := unreadIDs(t, s, "bob")
	for _, id := range acked {
		if !slices.Contains(got, id) {
			t.Fatalf("acked send %s is not in bob's inbox once there is room (%d of %d there)", id, len(got), len(acked))
		}
	}
	send(t, s, "after", "alice", "bob", "there is room again")
	send(t, s, "big", "alice", "bob", big)

	before := s.Disk().Refused
	if before.Err == nil || before.Taken.IsZero() || before.Taken.Before(before.Last) {
		t.Fatalf("Disk once sends are taken again: %+v; want the refusals told, and writes taken after them", before)
	}
	wantFull(t, "Disk's refusal", before.Err, dir)

	// A large body that finds no room is refused before anything is
	// committed: the store stays whole, and tells the refusal, with no
	// write taken after it, until one is. A backup is larger than this
	// limit now: it is refused the same way, and leaves no partial copy.
	// The indexer's commits would be taken after it: let it finish first
	// (its rounds failed while the disk was full; WaitIndexed has it try
	// again).
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatalf("the index once there is room: %v", err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: journalSize, Max: lim.Max}); err != nil {
		t.Fatal(err)
	}
	// Larger than the limit: its file is refused, whatever room the
	// database has.
	bigger := strings.Repeat("z", journalSize+4096)
	_, err = s.Append(ctx, []Draft{{ID: "big2", From: "alice", To: "bob", Content: bigger}})
	wantFull(t, "a large send to a whole store", err, dir)
	refused := s.Disk().Refused
	if r := refused; r.Err == nil || !r.Since.After(before.Taken) || !r.Last.Equal(r.Since) || !r.Taken.IsZero() {
		t.Fatalf("Disk after a large send was refused: %+v; want a new refusal since then, and no write taken after it", r)
	}
	wantFull(t, "Disk's refusal", refused.Err, dir)
	backups := filepath.Join(dir, "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = s.Backup(filepath.Join(backups, "full.db"))
	wantFull(t, "a backup", err, backups)
	// A backup stores no send: the advice on them is not for it.
	if msg := err.Error(); !strings.Contains(msg, "then back up again") || strings.Contains(msg, "same id") {
		t.Errorf("a backup on a full disk says %q; want it to say to back up again, and nothing of sends", msg)
	}
	if left, _ := os.ReadDir(backups); len(left) > 0 {
		t.Errorf("a backup that found no room left %s", left[0].Name())
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Fatal(err)
	}
	send(t, s, "big2", "alice", "bob", bigger)
	if r := s.Disk().Refused; r.Last != refused.Last || r.Taken.IsZero() {
		t.Errorf("Disk once a write is taken again: %+v; want the refusal of %v told, with a write taken after it", r, refused.Last)
	}
	// Ten minutes on, with writes taken, it is no longer news.
	later.Store(int64(11 * time.Minute))
	if d := s.Disk(); d.Refused.Err != nil || d.Free <= 0 {
		t.Errorf("Disk 11 minutes after the refusal, writes taken since: %+v; want no refusal told, and the room left", d)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close once there is room: %v", err)
	}
	if journalPending(dir) {
		t.Error("the store closed once there is room left its journal to replay")
	}
}

// wantFull fails the test unless err, what doing got, says the disk of
// the folder dir is full, as unavailable.
func wantFull(t *testing.T, doing string, err error, dir string) {
	t.Helper()
	if ipcmesh.CodeOf(err) != ipcmesh.CodeUnavailable || !strings.Contains(err.Error(), "the disk is full: free space in "+dir) {
		t.Fatalf("%s on a full disk: %v (code %q); want unavailable saying the disk of %s is full", doing, err, ipcmesh.CodeOf(err), dir)
	}
}

// finish reads the child's output to its end and waits for it to exit,
// failing the test with what it said if it failed, and returns the ids of
// the sends it says it acked.
func (c *child) finish(t *testing.T) []string {
	t.Helper()
	var acked, said []string
	for c.lines.Scan() {
		if id, ok := strings.CutPrefix(c.lines.Text(), "acked "); ok {
			acked = append(acked, id)
		} else {
			said = append(said, c.lines.Text())
		}
	}
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("the child failed (%v):\n%s\n%s", err, strings.Join(said, "\n"), c.stderr.String())
	}
	return acked
}

// A send whose journal record the disk could not sync for want of room
// (fdatasync may say so: a thin volume, a network file system) is
// answered as every write without room is, unavailable, naming the data
// folder; and the sends after it, once there is room, are stored.
// Before, it was the broker's internal fault.
func TestJournalSyncWithoutRoom(t *testing.T) {
	s := quietStore(t)
	register(t, s, "bob")
	// The first send after a checkpoint syncs its record as it writes
	// it; the next one's is synced by the syncer.
	send(t, s, "m0", "alice", "bob", "first")
	s.c.d.sync = func(f *os.File) error {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.ENOSPC}
	}
	_, err := s.Append(context.Background(), []Draft{{ID: "m1", From: "alice", To: "bob", Content: "second"}})
	wantFull(t, "a send whose record could not be synced", err, s.Dir())
	s.c.d.sync = datasync
	send(t, s, "m2", "alice", "bob", "third")
}
