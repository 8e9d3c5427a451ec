package main

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// status is what a user runs to see what is wrong, and a store broken by
// a full disk (here a file size limit put on the running broker, which
// fails a write past it as a full disk does) refuses every request until
// it mends. status then still answers with what the broker knows, and
// says that the store is unavailable and why, with the counts it cannot
// know marked unknown; once there is room it says the store is ok and
// counts again. Before, it failed with the store's error and said
// nothing of the broker.
func TestStatusAnswersWhileTheStoreIsBroken(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "bob")

	// What breaks the store is a commit of acked sends that fails (see
	// store's committer.abandon); a commit bbolt syncs that fails alone
	// leaves it whole, and status then rightly says ok. Sends are such
	// commits until the send journal fills, some 1,000 short lines on, so
	// the room must run out well before that: the limit is put inside the
	// database file, at its pages in use and some 64 KiB more, not past
	// its end, where bbolt's last growth left up to a MiB of room and the
	// lines ran out of it near the journal's end. No file may be cut
	// short by it either: the send journal is made at its full size.
	var s ipc.StatusResult
	m.mustJSON(&s, "status", "--json")
	inUse := max(s.StoreBytes-s.StoreFree, largestFile(m.dir, "ipcmesh.db"))
	lift := limitFiles(t, broker.pid(), inUse+64<<10)
	var lines strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&lines, "flood line %d\n", i+1)
	}
	r := m.runIn(lines.String(), "send", "--as", "alice", "--lines", "bob", "-")
	noRoom := "the disk is full: free space in " + m.dir
	if r.code != 1 || !strings.Contains(r.stderr, noRoom) {
		t.Fatalf("send --lines to a broker out of room: exit %d, stderr %q; want exit 1 saying %q", r.code, r.stderr, noRoom)
	}

	out := m.mustRun("status").stdout
	wantIn(t, "status while the store is broken", out, "broker:       pid "+strconv.Itoa(broker.pid())+" on "+m.addr())
	wantIn(t, "status while the store is broken", out, "store:        unavailable: "+noRoom)
	wantIn(t, "status while the store is broken", out, "instances:    unknown")
	wantIn(t, "status while the store is broken", out, "messages:     unknown")
	// What the disk says needs no store: the room left, and the refusals
	// with no write taken since.
	wantIn(t, "status while the store is broken", out, " left on the data folder's file system")
	if !regexp.MustCompile(`(?m)^writes:       refused for want of room since \d\d:\d\d:\d\d \([^)]*\), none taken since: ` + regexp.QuoteMeta(noRoom)).MatchString(out) {
		t.Errorf("status while the store is broken printed %q; want the refusals since when, none taken since", out)
	}
	s = ipc.StatusResult{}
	m.mustJSON(&s, "status", "--json")
	if s.Broker.PID != broker.pid() || s.Store != ipc.StoreUnavailable || !strings.Contains(s.StoreError, noRoom) || s.Instances != nil || s.Messages != nil || s.Unread != nil ||
		s.StoreDiskFree == nil || !strings.Contains(s.StoreRefused, noRoom) {
		t.Errorf("status --json while the store is broken: %+v; want the broker's pid, store unavailable saying %q, no counts, and the disk's room and refusals", s, noRoom)
	}

	lift()
	// The store mends at the first request that finds room: this status,
	// which then tells the refusals with the writes taken since.
	out = m.mustRun("status").stdout
	wantIn(t, "status once there is room", out, "store:        ok, ")
	wantIn(t, "status once there is room", out, "; writes were taken since, the last at ")
	if !regexp.MustCompile(`(?m)^instances:    2 registered\nmessages:     [1-9]\d* stored, [1-9]\d* unread$`).MatchString(out) {
		t.Errorf("status once there is room printed %q; want alice and bob registered and the messages counted", out)
	}
	s = ipc.StatusResult{}
	m.mustJSON(&s, "status", "--json")
	if s.Store != ipc.StoreOK || s.StoreError != "" || counted(s.Instances) != 2 || counted(s.Messages) < 1 {
		t.Errorf("status --json once there is room: %+v; want store ok and the counts", s)
	}
}

// A disk with room for the store as it is, but not for a large body, is
// one status said nothing of: the store is whole and answers, so it was
// "ok", beside a send that had just failed for want of room. status now
// tells the refusal, since when, and whether writes were taken after it:
// what a person freeing space looks at.
func TestStatusSaysWhileWritesAreRefused(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "bob")

	// Room for the files as they are, the database's slack included,
	// but not for a body larger than the largest of them.
	largest := largestFile(m.dir, "")
	lift := limitFiles(t, broker.pid(), largest+64<<10)
	large := strings.Repeat("the whole review, line after line\n", int(largest+128<<10)/34)
	r := m.runIn(large, "send", "--as", "alice", "bob", "-")
	noRoom := "the disk is full: free space in " + m.dir
	if r.code != 1 || !strings.Contains(r.stderr, noRoom) {
		t.Fatalf("a large send to a broker without room for it: exit %d, stderr %q; want exit 1 saying %q", r.code, r.stderr, noRoom)
	}

	out := m.mustRun("status").stdout
	wantIn(t, "status while writes are refused", out, "store:        ok, ")
	wantIn(t, "status while writes are refused", out, "instances:    2 registered")
	// The broker's own bookkeeping (last-seen times, every 30 s) may be
	// written after the refusal: either wording is true then.
	if !regexp.MustCompile(`(?m)^writes:       (refused for want of room since|the last refused for want of room at) \d\d:\d\d:\d\d \((just now|\d+s ago)\)[^\n]*: ` + regexp.QuoteMeta(noRoom)).MatchString(out) {
		t.Errorf("status while writes are refused printed %q; want a line saying since when and %q", out, noRoom)
	}
	var s ipc.StatusResult
	m.mustJSON(&s, "status", "--json")
	if s.Store != ipc.StoreOK || !strings.Contains(s.StoreRefused, noRoom) || s.StoreRefusedSince.IsZero() || s.StoreRefusedLast.Before(s.StoreRefusedSince) || counted(s.Instances) != 2 {
		t.Errorf("status --json while writes are refused: %+v; want store ok, the counts, and the refusal with its times", s)
	}

	lift()
	if r := m.runIn(large, "send", "--as", "alice", "bob", "-"); r.code != 0 {
		t.Fatalf("the large send once there is room: %s", r)
	}
	out = m.mustRun("status").stdout
	if !regexp.MustCompile(`(?m)^writes:       the last refused for want of room at \d\d:\d\d:\d\d \([^)]*\); writes were taken since, the last at \d\d:\d\d:\d\d \((just now|\d+s ago)\): ` + regexp.QuoteMeta(noRoom)).MatchString(out) {
		t.Errorf("status once the send went through printed %q; want the refusal told, with writes taken since", out)
	}
	s = ipc.StatusResult{}
	m.mustJSON(&s, "status", "--json")
	if !strings.Contains(s.StoreRefused, noRoom) || s.StoreTaken.Before(s.StoreRefusedLast) {
		t.Errorf("status --json once the send went through: %+v; want the refusal, and a write taken after it", s)
	}
	// And the room left on the disk, which the file size limit does not
	// show: the file system's own figure.
	if s.StoreDiskFree == nil || *s.StoreDiskFree <= 0 {
		t.Errorf("status --json: store_disk_free_bytes %v; want the room left on the data folder's file system", s.StoreDiskFree)
	}
	if !regexp.MustCompile(`(?m)^disk:         (only )?\d+\.\d (bytes|KiB|MiB|GiB) left on the data folder's file system`).MatchString(out) {
		t.Errorf("status printed %q; want a disk: line with the room left", out)
	}
}

// limitFiles puts a file size limit of n bytes on process pid, which
// fails a write past it as a full disk does, and returns the function
// that lifts it again.
func limitFiles(t *testing.T, pid int, n int64) (lift func()) {
	t.Helper()
	var room unix.Rlimit
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, nil, &room); err != nil {
		t.Skipf("cannot read the broker's file size limit: %v", err)
	}
	full := unix.Rlimit{Cur: uint64(n), Max: room.Max}
	if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &full, nil); err != nil {
		t.Skipf("cannot limit the broker's file size: %v", err)
	}
	return func() {
		t.Helper()
		if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &room, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// largestFile returns the size of the largest file in dir and the
// folders under it, but for those named skip.
func largestFile(dir, skip string) int64 {
	var largest int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && d.Name() != skip {
			if fi, err := d.Info(); err == nil {
				largest = max(largest, fi.Size())
			}
		}
		return nil
	})
	return largest
}
