package main

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestDemoKilledTakesItsBroker: kill -9 of ipcmesh demo ends its broker
// too. The broker runs in the foreground, so it never stops for want of
// peers: left alone, it served on the demo's port for good.
func TestDemoKilledTakesItsBroker(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(ipcmeshBin, "demo")
	cmd.Env = append(testbin.CleanEnviron(), "TMPDIR="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	pid := 0
	sc := bufio.NewScanner(out)
	for pid == 0 && sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 5 && f[0] == "broker" && f[1] == "pid" {
			pid, _ = strconv.Atoi(f[2])
		}
	}
	if pid == 0 {
		t.Fatalf("the demo printed no broker pid: %v", sc.Err())
	}
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Skipf("the demo's broker (pid %d) cannot be watched (gone already, or no pidfd here): %v", pid, err)
	}
	defer unix.Close(fd)
	cmd.Process.Kill()
	cmd.Wait()

	// The pidfd is readable once the broker has exited.
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(startTimeout.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("watch the broker: %v", err)
		}
		if n == 0 {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("the demo's broker (pid %d) still runs %v after the demo was killed", pid, startTimeout)
		}
		return
	}
}
