package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestDetachedBrokerLeavesTheWorkingFolder: a script in a folder of its
// own, with IPC_DATA_DIR and IPC_PROFILE_DIR relative to it, sends a
// message, and the command starts a broker in the background. That broker
// outlives the script by minutes, so it must not work in the script's
// folder (Windows refuses to remove a folder a process works in, and a
// disk with one cannot be unmounted); and it must still keep its data and
// its profile in the folders the script named.
func TestDetachedBrokerLeavesTheWorkingFolder(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	m := newMesh(t).withDir(filepath.Join(work, "data")).withEnv("IPC_DATA_DIR=data", "IPC_PROFILE_DIR=profiles")
	if err := os.Mkdir(filepath.Join(work, "profiles"), 0o700); err != nil {
		t.Fatal(err)
	}
	inWork := func(args ...string) result {
		t.Helper()
		p := m.startWith(func(c *exec.Cmd) { c.Dir = work }, nil, args...)
		return result{code: p.wait(runTimeout), stdout: p.stdout.String(), stderr: p.stderr.String()}
	}

	if r := inWork("send", "--as", "ci", "reviewer", "build is green"); r.code != 0 {
		t.Fatalf("send from the script's folder: %s", r)
	}
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatalf("no broker was started in the background for %s", m.dir)
	}
	cwd, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	if err != nil {
		t.Fatal(err)
	}
	if cwd == work {
		t.Errorf("the broker (pid %d) works in the script's folder %s", pid, work)
	}

	if r := inWork("check", "--as", "reviewer"); r.code != 0 || !strings.Contains(r.stdout, "build is green") {
		t.Fatalf("check from the script's folder: want the message, got %s", r)
	}
	if r := inWork("stop"); r.code != 0 {
		t.Fatalf("stop: %s", r)
	}
	// The broker writes its profile as it exits, after stop has its answer.
	want := filepath.Join(work, "profiles", "broker-"+strconv.Itoa(pid)+".pprof")
	testbin.Eventually(t, 30*time.Second, "the broker's profile in "+want, func() bool {
		_, err := os.Stat(want)
		return err == nil && !testbin.Alive(pid)
	})
}
