package election

import (
	"os"
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
