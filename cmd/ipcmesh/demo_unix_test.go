//go:build unix

package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestDemoReaderGoneCleansUp: ipcmesh demo | head -3. Once head has its
// lines and exits, the demo's next write finds the pipe closed; the demo
// must end then through its cleanup, not be ended by SIGPIPE with its
// broker (a foreground one, which never stops for want of peers) serving
// for good and its temporary folder left behind.
func TestDemoReaderGoneCleansUp(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ipcmeshBin, "demo")
	cmd.Env = append(testbin.CleanEnviron(), "TMPDIR="+tmp)
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	t.Cleanup(func() { cmd.Process.Kill() })

	// Read up to the broker's pid, as head would read its lines, then go.
	pid := 0
	sc := bufio.NewScanner(r)
	for pid == 0 && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 5 && f[0] == "broker" && f[1] == "pid" {
			pid, _ = strconv.Atoi(f[2])
		}
	}
	r.Close()
	if pid == 0 {
		t.Fatalf("the demo printed no broker pid: %v", sc.Err())
	}
	err = cmd.Wait()
	if err == nil {
		t.Skip("the demo finished before its reader went away")
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("the demo's broker (pid %d) still runs after the demo ended with %v", pid, cmd.ProcessState)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the demo left %d entries in the temporary folder", len(left))
	}
	if code := cmd.ProcessState.ExitCode(); code != 141 {
		t.Errorf("the demo ended with %v, want exit status 141, as a shell reports a command ended by SIGPIPE", cmd.ProcessState)
	}
}
