package store

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const fullDiskChild = "IPCMESH_STORE_FULL_DIR"

// A broker killed with acked sends in the journal, started again where
// the database file cannot grow (a full disk; here a file size limit), is
// told that the journal keeps those sends until they can be stored, and
// they are all there once it can. Before, Open's error said it failed to
// "create buckets", which reads as a broken store to put a backup over,
// not as a disk to free.
func TestFullDiskAtReplayKeepsTheJournal(t *testing.T) {
	if dir := os.Getenv(fullDiskChild); dir != "" {
		openWithoutRoom(dir)
		return
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestKilledDuringSendsKeepsAckedOnes$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChild+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	lines := bufio.NewScanner(out)
	for len(acked) < 20 && lines.Scan() {
		if id, ok := strings.CutPrefix(lines.Text(), "acked "); ok {
			acked = append(acked, id)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(acked) < 20 || !journalPending(dir) {
		t.Fatalf("the killed child acked %d sends and left a journal to replay: %v", len(acked), journalPending(dir))
	}

	child := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestFullDiskAtReplayKeepsTheJournal$", "-test.count=1")
	child.Env = append(os.Environ(), fullDiskChild+"="+dir)
	said, _ := child.CombinedOutput()
	msg, ok := strings.CutPrefix(strings.SplitN(string(said), "\n", 2)[0], "open: ")
	if !ok {
		t.Fatalf("Open without room for the journal's sends: %s", said)
	}
	for _, want := range []string{filepath.Join(dir, journalFile), "keeps them", "full disk"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Open's error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "create buckets") {
		t.Errorf("Open's error %q blames the buckets", msg)
	}

	s := reopen(t, dir)
	for _, id := range acked {
		if _, ok, err := s.Lookup(id); err != nil || !ok {
			t.Fatalf("acked send %s is missing once the disk has room (found: %v, err: %v)", id, ok, err)
		}
	}
}

// openWithoutRoom is the second child of TestFullDiskAtReplayKeepsTheJournal:
// it opens the store in dir with no file allowed past its meta pages, and
// prints Open's error.
func openWithoutRoom(dir string) {
	lim := uint64(2 * os.Getpagesize())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		fmt.Println("setrlimit:", err)
		os.Exit(1)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		fmt.Println("open:", err)
		return
	}
	s.Close()
	fmt.Println("opened")
}
