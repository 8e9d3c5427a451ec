package store

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	bolt "go.etcd.io/bbolt"
)

func spillFiles(t testing.TB, s *Store) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Dir(), "large-messages"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestLargeBodyRoundTrips(t *testing.T) {
	s, _ := openTest(t, nil)
	register(t, s, "bob")
	// Random bytes: not valid UTF-8, so nothing may "clean" the body.
	raw := make([]byte, 8<<20)
	rand.Read(raw)
	body := string(raw)

	d := send(t, s, "big", "alice", "bob", body)
	m := d.Message
	if !m.Large || m.Size != len(body) || !filepath.IsAbs(m.Path) || filepath.Dir(m.Path) != filepath.Join(s.Dir(), "large-messages") {
		t.Fatalf("large message stored as %+v", m)
	}
	if len(m.Content) > SummaryMax || !utf8.ValidString(m.Content) || !strings.HasPrefix(m.Content, "8.0 MiB, ") {
		t.Fatalf("summary is %d bytes: %q...", len(m.Content), m.Content[:min(40, len(m.Content))])
	}
	got, body2, err := s.Get("bob", "big")
	if err != nil {
		t.Fatal(err)
	}
	if body2 != body {
		t.Fatal("body read back differs from the body sent")
	}
	if got.Path != m.Path {
		t.Fatalf("Get path %q, Append path %q", got.Path, m.Path)
	}
	unread, _ := s.Unread("bob", 1)
	if unread[0].Content != m.Content || !unread[0].Large {
		t.Fatal("Unread does not return the summary")
	}
	// The record holds the summary, not the body.
	if fi, _ := os.Stat(filepath.Join(s.Dir(), "ipcmesh.db")); fi.Size() > 4<<20 {
		t.Fatalf("database is %d bytes: the body went into it", fi.Size())
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Fatalf("spill file mode %v, want 0600", fi.Mode())
		}
	}

	ds, err := s.Append(context.Background(), []Draft{{ID: "huge", From: "alice", To: "bob", Content: body + "x"}})
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, ds[0].Err, ipcmesh.CodeTooLarge)
	if files := spillFiles(t, s); len(files) != 1 {
		t.Fatalf("spill files %v, want only the one for big", files)
	}
}

func TestSpillNameIgnoresMessageFields(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	body := strings.Repeat("payload ", 10)
	ds, err := s.Append(context.Background(), []Draft{
		{ID: "../../id", From: "sender-name", To: "bob", Content: body},
		{ID: "h1", From: "../../x", To: "bob", Content: body},
		{ID: "h2", From: "alice", To: "../../x", Content: body},
		{ID: "h3", From: "alice", To: `..\..\x`, Content: body},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Err != nil {
		t.Fatal(ds[0].Err)
	}
	for _, d := range ds[1:] {
		wantCode(t, d.Err, ipcmesh.CodeInvalidName)
	}
	files := spillFiles(t, s)
	if len(files) != 1 {
		t.Fatalf("spill files %v, want exactly one", files)
	}
	name := files[0]
	for _, bad := range []string{"sender", "bob", "id", "..", "/", `\`} {
		if strings.Contains(name, bad) {
			t.Errorf("spill file name %q contains %q", name, bad)
		}
	}
	if filepath.Base(ds[0].Message.Path) != name {
		t.Errorf("Path %q does not name the spill file %q", ds[0].Message.Path, name)
	}
}

func TestSpillFileRemovedForDuplicate(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	body := strings.Repeat("long body ", 10)
	send(t, s, "m", "alice", "bob", body)
	ds, err := s.Append(context.Background(), []Draft{{ID: "m", From: "alice", To: "bob", Content: body}})
	if err != nil || !ds[0].Duplicate {
		t.Fatalf("retry: %+v %v", ds, err)
	}
	if files := spillFiles(t, s); len(files) != 1 {
		t.Fatalf("spill files %v after a duplicate, want 1", files)
	}
}

// beforeNextRead makes the store run change before its next read of a
// spill file: between the read of the record that names the file and the
// read of the file, where a write that replaces or removes the record can
// come.
func beforeNextRead(s *Store, change func()) {
	var once sync.Once
	s.readFile = func(path string) ([]byte, error) {
		once.Do(change)
		return os.ReadFile(path)
	}
}

// A large shared value replaced while it is being read is read whole: the
// file of the value the read found is removed once the read is done, not
// under it, where the read took the value for one deleted by hand. The
// file is old enough for the sweep of orphan files, which runs meanwhile
// too, and which must wait for the read as well.
func TestGetSharedWhileReplaced(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	ctx := context.Background()
	share := func(content string) {
		t.Helper()
		if _, err := s.Share(ctx, ipcmesh.Shared{Key: "plan", Content: content, StoredBy: "alice"}); err != nil {
			t.Errorf("share: %v", err)
		}
	}
	old, next := strings.Repeat("the old plan ", 10), strings.Repeat("the new plan ", 10)
	share(old)
	// Written before the store was opened, and past the grace.
	long := clk.Now().Add(-2 * orphanGrace)
	if err := os.Chtimes(onlyFile(t, s.sharedDir), long, long); err != nil {
		t.Fatal(err)
	}
	beforeNextRead(s, func() {
		share(next)
		if st, err := s.Sweep(ctx); err != nil || st.Orphans != 1 {
			t.Errorf("Sweep = %+v, %v; want the old value's file an orphan", st, err)
		}
	})
	if sh, err := s.GetShared("plan"); err != nil || sh.Content != old {
		t.Fatalf("GetShared while the value was replaced: %q, %v; want the value it found", sh.Content, err)
	}
	// Nothing reads the old file any more: it is gone.
	onlyFile(t, s.sharedDir)
	if sh, err := s.GetShared("plan"); err != nil || sh.Content != next {
		t.Fatalf("GetShared after: %q, %v; want the new value", sh.Content, err)
	}
}

// A fetch of a large message that the retention sweep removes meanwhile
// gets the body of the message it found, and the body's file goes once
// the fetch is done.
func TestGetWhileSwept(t *testing.T) {
	s, clk := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	ctx := context.Background()
	body := strings.Repeat("large body ", 10)
	send(t, s, "big", "alice", "bob", body)
	if n, err := s.Ack(ctx, "bob", []string{"big"}); err != nil || n != 1 {
		t.Fatalf("Ack = %d, %v", n, err)
	}
	clk.Advance(s.opts.HistoryRetention + time.Hour)
	beforeNextRead(s, func() {
		if st, err := s.Sweep(ctx); err != nil || st.History != 1 {
			t.Errorf("Sweep = %+v, %v; want the read message removed", st, err)
		}
	})
	if _, got, err := s.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("Get while the message was swept: %d bytes, %v; want its body", len(got), err)
	}
	if files := spillFiles(t, s); len(files) != 0 {
		t.Fatalf("large-messages/ holds %v once the fetch is done, want nothing", files)
	}
	_, _, err := s.Get("bob", "big")
	wantCode(t, err, ipcmesh.CodeNotFound)
}

// A removal waits for the reads under way when it is asked for, and for
// none that begin after it: a stream of reads that overlap one another
// does not keep a file for ever.
func TestFileGuardWaitsOnlyForEarlierReads(t *testing.T) {
	var g fileGuard
	path := filepath.Join(t.TempDir(), "body.md")
	if err := os.WriteFile(path, []byte("body"), 0o600); err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		_, err := os.Stat(path)
		return err == nil
	}
	first := g.hold()
	if n := g.remove(path); n != 1 || !exists() {
		t.Fatalf("remove under a read: %d, file kept %v; want it left to be removed", n, exists())
	}
	second := g.hold()
	g.release(first)
	if exists() {
		t.Fatal("the file waits for a read that began after its removal was asked for")
	}
	g.release(second)
	if n := g.remove(path); n != 0 {
		t.Fatalf("remove of a file already gone: %d, want 0", n)
	}
}

// A large body's file changed by hand before it is read (cut short,
// replaced by a link to another file, or by a folder) is refused with
// not_found, which says so; never read as the body. Before, the broker
// followed the link and handed the reader the other file as the message,
// and a file cut short passed for the whole body. The same holds for a
// large shared value.
func TestSpillFileChangedByHand(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	body := strings.Repeat("the whole body ", 10)
	path := send(t, s, "big", "alice", "bob", body).Message.Path
	if _, err := s.Share(context.Background(), ipcmesh.Shared{Key: "plan", Content: body, StoredBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	shared, err := os.ReadDir(s.sharedDir)
	if err != nil || len(shared) != 1 {
		t.Fatalf("shared/ holds %v (%v), want the plan's file", shared, err)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("another file of the user's"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, change := range []struct {
		what string
		do   func(path string) error
	}{
		{"cut short", func(path string) error { return os.Truncate(path, 10) }},
		{"a link to another file", func(path string) error {
			if err := os.Remove(path); err != nil {
				return err
			}
			return os.Symlink(other, path)
		}},
		{"a folder", func(path string) error {
			if err := os.Remove(path); err != nil {
				return err
			}
			return os.Mkdir(path, 0o700)
		}},
	} {
		if runtime.GOOS == "windows" && strings.Contains(change.what, "link") {
			continue
		}
		for _, f := range []string{path, filepath.Join(s.sharedDir, shared[0].Name())} {
			os.RemoveAll(f)
			if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := change.do(f); err != nil {
				t.Fatal(err)
			}
		}
		_, got, err := s.Get("bob", "big")
		if ipcmesh.CodeOf(err) != ipcmesh.CodeNotFound || !strings.Contains(err.Error(), "changed by hand") {
			t.Errorf("Get of a message whose file is %s: %q, %v; want not_found saying the file was changed", change.what, got, err)
		}
		sh, err := s.GetShared("plan")
		if ipcmesh.CodeOf(err) != ipcmesh.CodeNotFound || !strings.Contains(err.Error(), "changed by hand") {
			t.Errorf("GetShared of a value whose file is %s: %q, %v; want not_found saying the file was changed", change.what, sh.Content, err)
		}
	}
}

// A large body or shared value sent after its folder was removed, by
// someone freeing space in the data folder, is stored, in the folder made
// again (0700). Before, every one of them failed, until the broker was
// started again, with "no such file or directory".
func TestSpillFolderRemovedWhileOpen(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	body := strings.Repeat("a large body ", 10)
	for _, dir := range []string{s.largeDir, s.sharedDir} {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
	}
	send(t, s, "big", "alice", "bob", body)
	if _, err := s.Share(context.Background(), ipcmesh.Shared{Key: "plan", Content: body, StoredBy: "alice"}); err != nil {
		t.Fatalf("share once shared/ was removed: %v", err)
	}
	if _, got, err := s.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("Get: %q, %v", got, err)
	}
	if sh, err := s.GetShared("plan"); err != nil || sh.Content != body {
		t.Fatalf("GetShared: %q, %v", sh.Content, err)
	}
	for _, dir := range []string{s.largeDir, s.sharedDir} {
		fi, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o700 {
			t.Errorf("%s made again as %v, want 0700", dir, fi.Mode())
		}
	}
}

// A record that names a large body's file by a path, not a plain file
// name (a damaged or doctored database), cannot make the store read
// outside large-messages/ (SECURITY.md 3.11): the message is refused,
// though the file named there holds a body of the very length recorded.
func TestSpillNameOfADamagedRecordIsRefused(t *testing.T) {
	small := func(o *Options) { o.LargeMessageBytes = 16 }
	dir := t.TempDir()
	s := openIn(t, dir, small)
	register(t, s, "bob")
	body := strings.Repeat("the whole body ", 10)
	send(t, s, "big", "alice", "bob", body)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// In the data folder but outside large-messages/: no body is read there.
	secret := "outside.md"
	if err := os.WriteFile(filepath.Join(dir, secret), []byte(strings.Repeat("S", len(body))), 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	doctored := 0
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(keyMessages)
		return b.ForEach(func(k, v []byte) error {
			r, err := unmarshalRecord(v)
			if err != nil || r.File == "" {
				return err
			}
			r.File = "../" + secret
			doctored++
			return b.Put(k, r.marshal())
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if doctored != 1 {
		t.Fatalf("doctored %d records, want the large message's", doctored)
	}

	s = openIn(t, dir, small)
	defer s.Close()
	_, got, err := s.Get("bob", "big")
	if err == nil || strings.Contains(got, "SSS") {
		t.Fatalf("Get of a record naming ../%s: %q, %v; want it refused", secret, got, err)
	}
}
