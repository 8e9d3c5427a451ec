package store

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/readonly"
)

// A large body, a large shared value or a backup written into a folder of
// the data folder that was made read-only is refused with unavailable,
// naming the folder and what to do, and leaves no file; once the folder
// is writable again the same requests are stored, without the store being
// opened again. Before, each was answered "the broker failed: ...:
// permission denied", a fault of the broker to report.
func TestSpillDeniedThenMends(t *testing.T) {
	s, _ := openTest(t, func(o *Options) { o.LargeMessageBytes = 16 })
	register(t, s, "bob")
	backups := filepath.Join(s.Dir(), "backups")
	if err := os.Mkdir(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	dirs := []string{s.largeDir, s.sharedDir, backups}
	var writable []func()
	for _, dir := range dirs {
		writable = append(writable, readonly.Folder(t, dir))
	}

	ctx := context.Background()
	body := strings.Repeat("a large body ", 10)
	draft := []Draft{{ID: "big", From: "alice", To: "bob", Content: body}}
	shared := ipcmesh.Shared{Key: "plan", Content: body, StoredBy: "alice"}
	_, err := s.Append(ctx, draft)
	wantDenied(t, "a large send", err, s.largeDir)
	_, err = s.Share(ctx, shared)
	wantDenied(t, "a large shared value", err, s.sharedDir)
	_, err = s.Backup(filepath.Join(backups, "copy.db"))
	wantDenied(t, "a backup", err, backups)

	for _, dir := range dirs {
		if left, _ := os.ReadDir(dir); len(left) > 0 {
			t.Errorf("a write refused in %s left %s", dir, left[0].Name())
		}
	}
	for _, w := range writable {
		w()
	}
	if ds, err := s.Append(ctx, draft); err != nil || ds[0].Err != nil {
		t.Fatalf("the large send once its folder is writable: %v, %v", err, ds)
	}
	if _, got, err := s.Get("bob", "big"); err != nil || got != body {
		t.Fatalf("Get: %q, %v", got, err)
	}
	if _, err := s.Share(ctx, shared); err != nil {
		t.Fatalf("the shared value once its folder is writable: %v", err)
	}
	if _, err := s.Backup(filepath.Join(backups, "copy.db")); err != nil {
		t.Fatalf("the backup once its folder is writable: %v", err)
	}
}

// wantDenied fails the test unless err, what doing got, says that the
// folder dir is not writable, as unavailable.
func wantDenied(t *testing.T, doing string, err error, dir string) {
	t.Helper()
	if ipcmesh.CodeOf(err) != ipcmesh.CodeUnavailable || !strings.Contains(err.Error(), "cannot write in "+dir+": make it and its files writable") {
		t.Fatalf("%s into a read-only folder: %v (code %q); want unavailable saying %s is not writable", doing, err, ipcmesh.CodeOf(err), dir)
	}
}

// A store whose files were made read-only is not opened, and the error
// says which folder to make writable; before, it was the file's own error
// ("open ipcmesh.journal: permission denied"). Once writable, it opens.
func TestOpenDenied(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "ipcmesh.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("the store's files: %v, %v", files, err)
	}
	var writable []func()
	for _, f := range files {
		writable = append(writable, readonly.File(t, f))
	}
	_, err = Open(Options{Dir: dir, LockTimeout: time.Second})
	wantDenied(t, "Open", err, dir)
	for _, w := range writable {
		w()
	}
	s, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open once the files are writable: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// A compact of a data folder made read-only is refused, naming the folder
// to make writable, and leaves the store as it was; before, it said only
// "write the copy: ...: permission denied".
func TestCompactDenied(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	register(t, s, "bob")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	writable := readonly.Folder(t, dir)
	_, err = Compact(dir, CompactOptions{})
	wantDenied(t, "Compact", err, dir)
	writable()
	if _, err := Compact(dir, CompactOptions{}); err != nil {
		t.Fatalf("Compact once the folder is writable: %v", err)
	}
	r := openIn(t, dir, func(*Options) {})
	if names, err := r.Names(); err != nil || len(names) != 1 {
		t.Fatalf("the compacted store's names: %v, %v; want bob", names, err)
	}
}
