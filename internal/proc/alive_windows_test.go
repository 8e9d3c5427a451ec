//go:build windows

package proc

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// exitCodeEnv makes the test binary, started as a child, exit at once
// with the code it names.
const exitCodeEnv = "IPCMESH_PROC_TEST_EXIT"

func TestMain(m *testing.M) {
	if os.Getenv(exitCodeEnv) == "259" {
		os.Exit(259)
	}
	os.Exit(m.Run())
}

// TestAliveAfterAnExitOfCodeStillActive: a process that ended with code
// 259, STILL_ACTIVE, is not alive. Its pid lives on while a handle to it
// is held (here the test's own, elsewhere its parent's, until it reaps
// it), and Alive took that code for a process still running, so a record
// that named its pid was taken for a live broker or session.
func TestAliveAfterAnExitOfCodeStillActive(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Fatal("this very process is not alive")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), exitCodeEnv+"=259")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("hold the child's process: %v", err)
	}
	defer syscall.CloseHandle(h)
	var exit *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &exit) || exit.ExitCode() != 259 {
		t.Fatalf("the child ended with %v, want exit status 259", err)
	}
	if Alive(pid) {
		t.Errorf("pid %d is alive after its process exited with code 259", pid)
	}
}
