package autocheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSessionNameRoundTrip(t *testing.T) {
	dir := t.TempDir()
	const id = "4b1c2d3e-aaaa-4bbb-8ccc-123456789abc"
	if name, err := SessionName(dir, id); err != nil || name != "" {
		t.Fatalf("before any record: %q, %v; want none", name, err)
	}
	for _, name := range []string{"builder", "builder-2"} {
		if err := SaveSessionName(dir, id, name); err != nil {
			t.Fatal(err)
		}
		if got, err := SessionName(dir, id); err != nil || got != name {
			t.Fatalf("SessionName = %q, %v; want %q", got, err, name)
		}
	}
	fi, err := os.Stat(filepath.Join(Dir(dir), "sessions", id))
	if err != nil {
		t.Fatal(err)
	}
	// Windows has no mode bits: every file there reads as 0666.
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("record mode %v: others may read it", fi.Mode().Perm())
	}
	if err := ForgetSession(dir, id); err != nil {
		t.Fatal(err)
	}
	if name, err := SessionName(dir, id); err != nil || name != "" {
		t.Fatalf("after ForgetSession: %q, %v; want none", name, err)
	}
	if err := ForgetSession(dir, id); err != nil {
		t.Errorf("forgetting twice: %v", err)
	}
}

// A session id comes from the environment: one that could name a file
// outside the folder is refused, and a record that is not a name is an
// error, never a name to act as.
func TestSessionIDsAndRecordsChecked(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"", "../builder", "a/b", `a\b`, ".", "..", "a b", strings.Repeat("x", 129)} {
		if err := SaveSessionName(dir, id, "builder"); err == nil {
			t.Errorf("SaveSessionName(%q) saved", id)
		}
		if _, err := SessionName(dir, id); err == nil {
			t.Errorf("SessionName(%q) read", id)
		}
	}
	if err := SaveSessionName(dir, "s1", "not a name"); err == nil {
		t.Error("SaveSessionName saved an invalid name")
	}
	p := filepath.Join(Dir(dir), "sessions", "s1")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("../../etc\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if name, err := SessionName(dir, "s1"); err == nil {
		t.Errorf("a damaged record read as %q", name)
	}
}

func TestOtherSessionActsAs(t *testing.T) {
	dir := t.TempDir()
	if other, err := OtherSessionActsAs(dir, "s1", "builder"); err != nil || other {
		t.Fatalf("with no records: %v, %v", other, err)
	}
	if err := SaveSessionName(dir, "s1", "builder"); err != nil {
		t.Fatal(err)
	}
	if other, _ := OtherSessionActsAs(dir, "s1", "builder"); other {
		t.Error("a session's own record counted as another's")
	}
	if other, _ := OtherSessionActsAs(dir, "s2", "builder"); !other {
		t.Error("s1's record of builder not seen from s2")
	}
	if other, _ := OtherSessionActsAs(dir, "s2", "Builder"); other {
		t.Error("names differing in case are two names")
	}
}

// A server killed with kill -9 leaves its record: once its process is
// gone, the record counts as none, so that a session started later with
// the same IPC_NAME is not taken for the dead one's other.
func TestRecordOfAGoneServerCountsAsNone(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command(os.Args[0], "-test.run=^$")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(Dir(dir), "sessions", "s1")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, fmt.Appendf(nil, "builder\n%d\n", gone.Process.Pid), 0o600); err != nil {
		t.Fatal(err)
	}
	if name, err := SessionName(dir, "s1"); err != nil || name != "" {
		t.Errorf("the record of a server that is gone: %q, %v; want none", name, err)
	}
	if other, _ := OtherSessionActsAs(dir, "s2", "builder"); other {
		t.Error("a server that is gone still holds its name for the sessions' hooks")
	}
}

// Records of servers that are gone are removed by the next server that
// saves a name, once they are an hour old: a hook reads them all on every
// tool call. A younger one, and one whose server runs, stay.
func TestRecordsOfGoneServersAreSwept(t *testing.T) {
	dir := t.TempDir()
	gone := exec.Command(os.Args[0], "-test.run=^$")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	sessions := filepath.Join(Dir(dir), "sessions")
	if err := os.MkdirAll(sessions, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	write := func(id, name string, pid int, mtime time.Time) {
		t.Helper()
		p := filepath.Join(sessions, id)
		if err := os.WriteFile(p, fmt.Appendf(nil, "%s\n%d\n", name, pid), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	write("old-gone", "builder", gone.Process.Pid, old)
	write("new-gone", "reviewer", gone.Process.Pid, time.Now())
	write("old-live", "tester", os.Getpid(), old)

	if err := SaveSessionName(dir, "s1", "writer"); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(sessions)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if got, want := strings.Join(left, " "), "new-gone old-live s1"; got != want {
		t.Errorf("records left: %s; want %s", got, want)
	}
}
