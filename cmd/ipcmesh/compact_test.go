package main

// Compact as a user runs it: a mesh whose store a burst of mail made
// large, read and swept since, compacted with every process stopped, then
// served again with its mail whole; and compacted while an assistant's
// peer is connected, by the broker that takes over.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
)

// sweptBurst stores n messages of 2 KiB to bob in the data folder dir as
// if they had come 40 days ago, marks them read then, and sweeps them
// now, as the broker does once they are past their retention.
func sweptBurst(t *testing.T, dir string, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().Add(-40 * 24 * time.Hour)
	s, err := store.Open(store.Options{Dir: dir, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("a line of a long build log\n", 76)[:2048]
	for i := 0; i < n; i += 500 {
		var drafts []store.Draft
		var ids []string
		for j := i; j < min(i+500, n); j++ {
			id := fmt.Sprintf("burst-%05d", j)
			drafts = append(drafts, store.Draft{ID: id, From: "alice", To: "bob", Content: body})
			ids = append(ids, id)
		}
		if _, err := s.Append(ctx, drafts); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ack(ctx, "bob", ids); err != nil {
			t.Fatal(err)
		}
	}
	now = time.Now()
	if _, err := s.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCompactCLI(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	big, sent := reviewMail(t, m)
	broker.stopAsCtrlC(runTimeout)

	sweptBurst(t, m.dir, 10000)
	db := filepath.Join(m.dir, "ipcmesh.db")
	size := func() int64 {
		fi, err := os.Stat(db)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()

	// The broker says how much of the file is free, and that compact
	// gives it back.
	broker = m.startBroker()
	st := m.status()
	if st.StoreBytes != before || st.StoreFree < before*3/4 {
		t.Errorf("status says the store is %d bytes, %d of them free; the file has %d, nearly all free", st.StoreBytes, st.StoreFree, before)
	}
	wantIn(t, "status", m.mustRun("status").stdout, "of it free: ipcmesh compact gives it back")
	broker.stopAsCtrlC(runTimeout)
	before = size()

	dry := m.mustRun("compact", "--dry-run").stdout
	wantIn(t, "compact --dry-run", dry, "compacting "+db+" would take it from ", "(2 messages, 2 unread); nothing was changed")
	if size() != before {
		t.Fatalf("compact --dry-run changed the file from %d to %d bytes", before, size())
	}

	out := m.mustRun("compact").stdout
	re := regexp.MustCompile(`^compacted ` + regexp.QuoteMeta(db) + `: \d+\.\d MiB -> \d+\.\d KiB \(2 messages, 2 unread kept\) in \d`)
	if !re.MatchString(out) {
		t.Errorf("compact printed %q, want it to match %s", out, re)
	}
	after := size()
	t.Logf("compacted %d -> %d bytes", before, after)
	if after > before/10 {
		t.Errorf("compact took the file from %d to %d bytes only", before, after)
	}
	var res struct {
		Before int64 `json:"before_bytes"`
		After  int64 `json:"after_bytes"`
		Unread int   `json:"unread"`
	}
	m.mustJSON(&res, "compact", "--json")
	if res.Before != after || res.After > after || res.Unread != 2 {
		t.Errorf("compact --json of a compacted store: %+v, want before_bytes %d and 2 unread", res, after)
	}

	// A broker started afterwards serves the mail as it was.
	m.startBroker()
	if got := m.mustRun("fetch", "--as", "bob", sent.Message.ID).stdout; got != big {
		t.Errorf("fetch of the large message after the compact printed %d bytes, want its %d", len(got), len(big))
	}
	wantIn(t, "check after the compact", m.mustRun("check", "--as", "bob").stdout, "and a short note", sent.Message.ID)

	m.usageFails("compact", "extra")
	// A host whose mesh is kept in a cluster: the folder's own file is
	// not the mesh's, and compacting it would free none of its space.
	wantIn(t, "compact on a cluster host", m.withEnv("IPC_STORE=nats://127.0.0.1:4222").mustFail("compact"), "NATS cluster", "IPC_STORE=bbolt")
}

// A user whose assistants run asks for a compact: their peers elect a new
// broker the moment one stops, so the folder is never free. The compact
// is handed over: the broker that takes the port compacts the store
// before it serves, the watching peer waits through it and goes on, and
// nothing is lost or delivered twice.
func TestCompactWhileAnAssistantRuns(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	sweptBurst(t, m.dir, 10000)
	db := filepath.Join(m.dir, "ipcmesh.db")
	fi, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	watcher := m.start(nil, "watch", "--json", "--as", "carol")
	m.mustRun("send", "--as", "alice", "carol", "before the compact")
	watchMessage(watcher, "before the compact")
	m.mustRun("send", "--as", "alice", "bob", "unread through the compact")
	first := m.status().Broker.PID

	// A dry run asks the serving broker how much is free: nothing is
	// stopped for it, nor written.
	dry := m.mustRun("compact", "--dry-run").stdout
	wantIn(t, "compact --dry-run with a peer connected", dry, "compacting "+db+" would take it from ", " MiB to about ", "(2 messages, 1 unread); nothing was changed", fmt.Sprintf("pid %d", first))
	var est struct {
		Estimate bool  `json:"estimate"`
		Before   int64 `json:"before_bytes"`
		Freed    int64 `json:"freed_bytes"`
	}
	m.mustJSON(&est, "compact", "--dry-run", "--json")
	if !est.Estimate || est.Before != fi.Size() || est.Freed < fi.Size()*3/4 {
		t.Errorf("compact --dry-run --json with a peer connected: %+v; want an estimate of the %d-byte file, nearly all free", est, fi.Size())
	}
	if pid := m.status().Broker.PID; pid != first {
		t.Fatalf("a dry run changed the broker from pid %d to %d", first, pid)
	}
	if now, err := os.Stat(db); err != nil || !os.SameFile(now, fi) || now.Size() != fi.Size() {
		t.Fatalf("a dry run changed the database file: %v", err)
	}

	res := m.mustRun("compact")
	out := res.stdout
	wantIn(t, "compact's stderr with a peer connected", res.stderr, "a broker serves this folder: it is asked to stop, and the broker that takes its place compacts the store before it serves")
	re := regexp.MustCompile(`^compacted ` + regexp.QuoteMeta(db) + `: \d+\.\d MiB -> \d+\.\d KiB \(2 messages, 1 unread kept\) in \d`)
	if !re.MatchString(out) {
		t.Errorf("compact with a peer connected printed %q, want it to match %s", out, re)
	}
	after, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("compacted %d -> %d bytes", fi.Size(), after.Size())
	if after.Size() > fi.Size()/10 {
		t.Errorf("compact took the file from %d to %d bytes only", fi.Size(), after.Size())
	}
	next := m.status().Broker.PID
	if next == first || next <= 0 {
		t.Errorf("the broker is pid %d after the compact, and was %d: the compact was to be made by the next broker", next, first)
	}
	wantIn(t, "compact with a peer connected", out, fmt.Sprintf("it (pid %d) was stopped, and the broker that took its place (pid %d) compacted the store", first, next), "start again any broker you ran yourself")
	for _, f := range []string{"handover-request.json", "handover-report.json"} {
		if _, err := os.Stat(filepath.Join(m.dir, f)); !os.IsNotExist(err) {
			t.Errorf("%s is left in the data folder: %v", f, err)
		}
	}

	m.mustRun("send", "--as", "alice", "carol", "after the compact")
	watchMessage(watcher, "after the compact")
	wantIn(t, "bob's check after the compact", m.mustRun("check", "--as", "bob").stdout, "unread through the compact")
	watcher.stopAsCtrlC(runTimeout)
	for _, c := range []string{"before the compact", "after the compact"} {
		if n := strings.Count(watcher.stdout.String(), c); n != 1 {
			t.Errorf("the watch printed %q %d times, want once", c, n)
		}
	}
}
