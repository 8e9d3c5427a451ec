package store

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
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
