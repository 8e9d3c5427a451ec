package election

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
	"github.com/ipcmesh/ipcmesh/store"
)

// A peer waits longer for the report of a detached broker of a large
// store: the broker reads its store before it serves, and one killed at
// 20 s by the peer that started it would be killed at every start, and
// the mesh down with it.
func TestReportWaitGrowsWithTheStore(t *testing.T) {
	cfg := Config{DataDir: t.TempDir()}
	if got := cfg.reportTimeout(); got != spawnTimeout {
		t.Errorf("the wait for a broker of a folder with no store yet is %v, want %v", got, spawnTimeout)
	}
	// 10 GiB, sparse where the file system allows: its size is what counts.
	f, err := os.Create(store.DatabasePath(cfg.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(10 << 30); err != nil {
		f.Close()
		t.Skipf("no file of 10 GiB here: %v", err)
	}
	f.Close()
	if got, want := cfg.reportTimeout(), spawnTimeout+204*time.Second; got < want {
		t.Errorf("the wait for a broker of a 10 GiB store is %v, want at least %v (a second for every 50 MiB)", got, want)
	}
}

// A broker's log that cannot be made in a read-only data folder says what
// to do; before, the error was the open's alone ("permission denied",
// "read-only file system"), and it is what every command of the folder
// says when it starts a broker.
func TestBrokerLogInReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	readonly.Folder(t, dir)
	f, err := openBrokerLog(dir)
	if err == nil {
		f.Close()
		t.Fatal("the broker's log was made in a read-only folder")
	}
	if want := "make " + dir + " and its files writable"; !strings.Contains(err.Error(), want) {
		t.Fatalf("openBrokerLog in a read-only folder: %v; want it to say %q", err, want)
	}
}

// The detached broker's log is rotated when a broker is started: one past
// 4 MiB becomes broker.log.1, the one older file kept, and the broker
// writes a new one, private to the user as every file of the data folder
// is (SECURITY.md 3.11). One of 4 MiB or less is written on.
func TestBrokerLogRotatedWhenABrokerStarts(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "broker.log")
	write := func(f *os.File, s string) {
		t.Helper()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(mustOpenBrokerLog(t, dir), strings.Repeat("a", 4<<20))
	write(mustOpenBrokerLog(t, dir), "b")
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Fatalf("a log of 4 MiB was rotated (%v)", err)
	}
	write(mustOpenBrokerLog(t, dir), "c")
	old, err := os.ReadFile(path + ".1")
	if err != nil || len(old) != 4<<20+1 {
		t.Fatalf("broker.log.1 holds %d bytes (%v), want the log of 4 MiB and a byte", len(old), err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "c" {
		t.Fatalf("the new log holds %q (%v), want only what the new broker wrote", b, err)
	}
	if runtime.GOOS != "windows" {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the new log: %v, %v; want mode 0600", fi.Mode(), err)
		}
	}
}

func mustOpenBrokerLog(t *testing.T, dir string) *os.File {
	t.Helper()
	f, err := openBrokerLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
