//go:build linux || darwin || windows

package proc

import (
	"io"
	"os"
	"os/exec"
	"testing"
)

// TestChildWaitsForStdin is the process TestStarted starts: it waits
// until its stdin closes. Run on its own it returns at once.
func TestChildWaitsForStdin(t *testing.T) {
	if os.Getenv("PROC_TEST_CHILD") != "1" {
		return
	}
	io.Copy(io.Discard, os.Stdin)
}

// A record keeps a pid and its process's mark: the mark must stay the
// same while the process runs, and a record whose mark is not the running
// process's (another process that got the pid: a mark that differs stands
// in for it) or whose process ended must not count.
func TestStarted(t *testing.T) {
	self, err := Started(os.Getpid())
	if err != nil || self == "" {
		t.Fatalf("Started(self) = %q, %v; want a mark", self, err)
	}
	if again, err := Started(os.Getpid()); err != nil || again != self {
		t.Fatalf("Started(self) again = %q, %v; want %q: a process's mark must not change", again, err, self)
	}

	child := exec.Command(os.Args[0], "-test.run=^TestChildWaitsForStdin$")
	child.Env = append(os.Environ(), "PROC_TEST_CHILD=1")
	stdin, err := child.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	pid := child.Process.Pid
	mark, err := Started(pid)
	if err != nil || mark == "" {
		t.Fatalf("Started(child) = %q, %v; want a mark", mark, err)
	}
	if !Running(pid, mark) || !Running(pid, "") {
		t.Errorf("Running(child, its mark or none) = false; want true: it runs")
	}
	if Running(pid, mark+"0") {
		t.Errorf("Running(child, a mark not its own) = true; want false: the record was another process's")
	}
	stdin.Close()
	if err := child.Wait(); err != nil {
		t.Fatalf("the child: %v", err)
	}
	if Running(pid, mark) {
		t.Errorf("Running(child, its mark) after it ended = true; want false")
	}
}
