package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

// burst stores n messages of about 2 KiB from alice to bob, in batches as
// a busy broker commits them, marks them read and sweeps them once their
// retention is over: the database file is left as large as the burst made
// it, its pages free.
func burst(t *testing.T, s *Store, clk *clock, n int) {
	t.Helper()
	ctx := context.Background()
	register(t, s, "alice", "bob")
	filler := strings.Repeat("the log of a long build, line after line ", 50)[:2000]
	const batch = 200
	for i := 0; i < n; i += batch {
		drafts := make([]Draft, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			drafts = append(drafts, Draft{ID: fmt.Sprintf("burst%05d", j), From: "alice", To: "bob", Content: filler})
		}
		ds, err := s.Append(ctx, drafts)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if d.Err != nil {
				t.Fatalf("burst send refused: %v", d.Err)
			}
		}
		read := make([]string, len(drafts))
		for k, d := range drafts {
			read[k] = d.ID
		}
		if _, err := s.Ack(ctx, "bob", read); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(s.Options().HistoryRetention + time.Hour)
	st, err := s.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.History < n {
		t.Fatalf("the sweep removed %d of the burst's %d messages", st.History, n)
	}
}

// answers is what a store answers about everything a user keeps: the
// mail waiting, large bodies, sessions, channels and their posts, shared
// data, a rename's forward, the search index, the totals.
type answers struct {
	Unread      []ipcmesh.Message
	UnreadCount int
	Large       string
	Session     Session
	Channel     ipcmesh.Channel
	Posts       []ipcmesh.Message
	Shared      ipcmesh.Shared
	Forward     string
	Found       []ipcmesh.Message
	Stats       Stats
}

// keep stores what answers reads back, after the burst.
func keep(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	register(t, s, "carol", "dave")
	send(t, s, "keep1", "alice", "carol", "the zebra deploy is green")
	send(t, s, "keep2", "dave", "carol", strings.Repeat("a large review body ", 40))
	if _, err := s.CreateChannel(ctx, ipcmesh.Channel{Name: "ops", Description: "deploys", CreatedBy: "alice", Members: []string{"alice", "carol"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, []Draft{{ID: "post1", From: "alice", Channel: "ops", Content: "zebra rollout at noon"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Share(ctx, ipcmesh.Shared{Key: "spec", Content: strings.Repeat("a large shared value ", 40), StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rename(ctx, "dave", Session{Name: "erin", ID: "sess-erin", Expires: s.now().Add(time.Hour)}, "rename-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.WaitIndexed(ctx); err != nil {
		t.Fatal(err)
	}
}

func answersOf(t *testing.T, s *Store) answers {
	t.Helper()
	var a answers
	var err error
	if a.Unread, err = s.Unread("carol", 100); err != nil {
		t.Fatal(err)
	}
	if a.UnreadCount, err = s.UnreadCount("carol"); err != nil {
		t.Fatal(err)
	}
	if _, a.Large, err = s.Get("carol", "keep2"); err != nil {
		t.Fatal(err)
	}
	if a.Session, _, err = s.Session("carol"); err != nil {
		t.Fatal(err)
	}
	if a.Channel, _, err = s.Channel("ops"); err != nil {
		t.Fatal(err)
	}
	if a.Posts, _, err = s.ChannelHistory("ops", Page{}); err != nil {
		t.Fatal(err)
	}
	if a.Shared, err = s.GetShared("spec"); err != nil {
		t.Fatal(err)
	}
	if a.Forward, err = s.Resolve("dave"); err != nil {
		t.Fatal(err)
	}
	if a.Found, _, err = s.Search(Query{Words: "zebra", Reader: "carol", Channels: []string{"ops"}}); err != nil {
		t.Fatal(err)
	}
	if a.Stats, err = s.Stats(); err != nil {
		t.Fatal(err)
	}
	return a
}

// wantKept checks the answers a store gave before a compact against
// what it was meant to keep, so that a compact that kept too little is
// not compared with a store that held too little already.
func wantKept(t *testing.T, a answers) {
	t.Helper()
	// carol's unread mail: two messages and the channel's post.
	if len(a.Unread) != 3 || a.UnreadCount != 3 || a.Large != strings.Repeat("a large review body ", 40) ||
		a.Session.ID != "sess-carol" || len(a.Posts) != 1 || a.Forward != "erin" || len(a.Found) != 2 ||
		!strings.HasPrefix(a.Shared.Content, "a large shared value") {
		t.Fatalf("the store does not hold what was kept: %d unread (%d counted), %d posts, %d found, session %q, forward to %q",
			len(a.Unread), a.UnreadCount, len(a.Posts), len(a.Found), a.Session.ID, a.Forward)
	}
}

// sameAnswers fails the test for each answer of got that is not want's.
func sameAnswers(t *testing.T, when string, got, want answers) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s, %s is\n%+v\nnot\n%+v", when, g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// A store a burst of mail made large, read and swept since, is given
// back its space by Compact, and answers everything as it did.
func TestCompact(t *testing.T) {
	clk := newClock()
	opts := Options{Dir: t.TempDir(), Now: clk.Now, LargeMessageBytes: 512}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	burst(t, s, clk, 2000)
	keep(t, s)
	last := send(t, s, "last", "alice", "bob", "the last one before the compact").Message.Seq
	if _, err := s.Ack(context.Background(), "bob", []string{"last"}); err != nil {
		t.Fatal(err)
	}
	before := answersOf(t, s)
	wantKept(t, before)
	sp, err := s.Space()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(opts.Dir, dbFile)
	size := fileSize(t, path)
	folder := names(t, opts.Dir)

	res, err := Compact(opts.Dir, CompactOptions{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	after := fileSize(t, path)
	if res.Path != path || res.Before != size || res.After != after {
		t.Errorf("Compact says %s went from %d to %d bytes; it went from %d to %d", res.Path, res.Before, res.After, size, after)
	}
	t.Logf("the database file went from %d to %d bytes", size, after)
	if after > size/5 {
		t.Errorf("the file went from %d to %d bytes only", size, after)
	}
	if res.Stats != before.Stats {
		t.Errorf("Compact counted %+v, the store %+v", res.Stats, before.Stats)
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("the compacted file's mode is %v, want 0600", fi.Mode().Perm())
		}
	}
	if got := names(t, opts.Dir); !slices.Equal(got, folder) {
		t.Errorf("the data folder holds %v after the compact, %v before", got, folder)
	}

	// Space said as much before: the file, nearly all of it free.
	if sp.FileBytes != size || sp.FreeBytes < size-after-size/10 || sp.FreeBytes > size-after+size/10 {
		t.Errorf("before the compact Space said %d bytes, %d of them free; the file had %d and the compact freed %d",
			sp.FileBytes, sp.FreeBytes, size, size-after)
	}
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sameAnswers(t, "after the compact", answersOf(t, r), before)
	if sp, err := r.Space(); err != nil || sp.FreeBytes > sp.FileBytes/2 {
		t.Errorf("after the compact Space says %+v, %v: over half of the file free", sp, err)
	}
	// The store-wide seq goes on from where it was, and the schema mark
	// stays, so that an older build still refuses the store.
	if seq := send(t, r, "next", "alice", "bob", "after the compact").Message.Seq; seq <= last {
		t.Errorf("the first message after the compact has seq %d, not after %d", seq, last)
	}
	r.db.View(func(tx *bolt.Tx) error {
		if got := seqOf(tablesOf(tx).meta().Get([]byte(metaSchema))); got != schemaCollab {
			t.Errorf("the compacted store's schema mark is %d, want %d", got, schemaCollab)
		}
		return nil
	})

	// A dry run writes the copy, says its size, and changes nothing.
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	dry, err := Compact(opts.Dir, CompactOptions{LockTimeout: time.Second, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if now := fileSize(t, path); dry.Before != now || dry.After == 0 || dry.After > now {
		t.Errorf("a dry run says %d -> %d bytes for a file of %d", dry.Before, dry.After, now)
	}
	if got := names(t, opts.Dir); !slices.Equal(got, folder) {
		t.Errorf("a dry run left %v in the data folder, which held %v", got, folder)
	}
}

// Not while a broker holds the store: its file cannot be swapped under it.
func TestCompactRefusedWhileTheStoreIsOpen(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice")
	path := filepath.Join(s.Dir(), dbFile)
	size := fileSize(t, path)
	folder := names(t, s.Dir())
	_, err := Compact(s.Dir(), CompactOptions{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop every ipcmesh process") {
		t.Fatalf("compact under an open store: %v, want ErrLocked saying what to do", err)
	}
	if fileSize(t, path) != size || !slices.Equal(names(t, s.Dir()), folder) {
		t.Error("a refused compact changed the data folder")
	}
	if _, ok, err := s.Session("alice"); !ok || err != nil {
		t.Errorf("the store after a refused compact: alice's session %v, %v", ok, err)
	}
}

// A folder with no store is not made one.
func TestCompactWithoutAStore(t *testing.T) {
	dir := t.TempDir()
	_, err := Compact(dir, CompactOptions{LockTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "no store to compact") {
		t.Fatalf("compact of an empty folder: %v", err)
	}
	if got := names(t, dir); len(got) != 0 {
		t.Errorf("compact of an empty folder made %v", got)
	}
}

// A compact killed before its copy took the file's place leaves the store
// as it was and the copy beside it, whole or cut short: Open removes it,
// and so does the next compact, which then compacts.
func TestCompactLeftoverOfACrash(t *testing.T) {
	clk := newClock()
	opts := Options{Dir: t.TempDir(), Now: clk.Now}
	s, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	burst(t, s, clk, 600)
	keep(t, s)
	before := answersOf(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(opts.Dir, dbFile)
	size := fileSize(t, path)
	folder := names(t, opts.Dir)

	// What a crash leaves: the copies written (one whole and synced, one
	// that was being written), and the file as it was.
	crash := func() []string {
		src, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		dst, whole, err := compactCopy(src, opts.Dir)
		if err != nil {
			t.Fatal(err)
		}
		dst.Close()
		data, err := os.ReadFile(whole)
		if err != nil {
			t.Fatal(err)
		}
		cut := filepath.Join(opts.Dir, "."+dbFile+".1234"+compactSuffix)
		if err := os.WriteFile(cut, data[:len(data)/3], 0o600); err != nil {
			t.Fatal(err)
		}
		if fileSize(t, path) != size {
			t.Fatal("writing the copy changed the database file")
		}
		return []string{whole, cut}
	}
	gone := func(when string, left []string) {
		t.Helper()
		for _, f := range left {
			if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s, the copy %s a crashed compact left is still there (%v)", when, filepath.Base(f), err)
			}
		}
		if got := names(t, opts.Dir); !slices.Equal(got, folder) {
			t.Errorf("%s the data folder holds %v, want %v", when, got, folder)
		}
	}

	left := crash()
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	sameAnswers(t, "after a crashed compact", answersOf(t, r), before)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	gone("once the store is opened", left)

	left = crash()
	res, err := Compact(opts.Dir, CompactOptions{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	gone("after the next compact", left)
	if res.After >= size {
		t.Errorf("the compact after a crashed one went from %d to %d bytes", res.Before, res.After)
	}
	r, err = Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sameAnswers(t, "after the compact", answersOf(t, r), before)
}

// The check of the copy finds a copy that lost a key, or holds another
// value, and names the bucket.
func TestCompactCheckFindsACopyThatDiffers(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "alice", "bob")
	send(t, s, "m1", "alice", "bob", "one")
	send(t, s, "m2", "alice", "bob", "two")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	src, err := bolt.Open(filepath.Join(s.Dir(), dbFile), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for _, tc := range []struct {
		name   string
		change func(*bolt.Tx) error
		want   string
	}{
		{"whole", func(*bolt.Tx) error { return nil }, ""},
		{"a key lost", func(tx *bolt.Tx) error { return tx.Bucket(keyIDs).Delete([]byte("m1")) }, "bucket ids holds 1 key, the store's 2"},
		{"a value changed", func(tx *bolt.Tx) error { return tx.Bucket(keyIDs).Put([]byte("m1"), seqKey(7)) }, "bucket ids holds other keys"},
		{"a sequence changed", func(tx *bolt.Tx) error { return tx.Bucket(keyMessages).SetSequence(1) }, "bucket messages holds other keys"},
		{"a bucket lost", func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte(bucketAccessKeys)) }, "top-level buckets"},
	} {
		dst, path, err := compactCopy(src, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.Update(tc.change); err != nil {
			t.Fatal(err)
		}
		_, err = sameStore(src, dst, path)
		dst.Close()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: the check says %v, want %q", tc.name, err, tc.want)
		}
	}
}
