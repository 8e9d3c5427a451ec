//go:build unix

package main

import (
	"os/exec"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestCtrlCStopsAScriptLoop: a script loops over a check that waits for
// mail. Ctrl-C (SIGINT to the script's process group, as a terminal sends
// it) while the check waits ends the script, as it would end one around
// any other command. bash carries on with a script whose command took
// the interrupt and exited 0, so that loop could never be stopped. A
// command that runs until interrupted (watch) still exits 0.
func TestCtrlCStopsAScriptLoop(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash is not on PATH: %v", err)
	}
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	script := `for i in 1 2; do "$0" check --wait 10m; echo "check $i exited $?"; done; echo "the script went on"`
	cmd := exec.Command("bash", "-c", script, ipcmeshBin)
	inGroup(cmd)
	p := startCmd(t, cmd, "a bash loop over check --wait", m.environ(), nil)
	waitForWaiters(t, m, 1)

	signalGroup(t, p, syscall.SIGINT)
	p.wait(runTimeout)
	if out := p.stdout.String(); out != "" {
		t.Errorf("after Ctrl-C the script printed %q: it went on", out)
	}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("the script ended with %v, want killed by SIGINT", p.cmd.ProcessState)
	}

	// A check alone that is interrupted ends as Ctrl-C ends a command;
	// a watch, which runs until it is interrupted, exits 0.
	check := m.startWith(inGroup, nil, "check", "--wait", "10m")
	waitForWaiters(t, m, 1)
	signalGroup(t, check, syscall.SIGINT)
	check.wait(runTimeout)
	if ws, ok := check.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Errorf("an interrupted check --wait ended with %v, want killed by SIGINT", check.cmd.ProcessState)
	}
	watch := m.start(nil, "watch")
	watch.waitLine(watch.stderr, "watching mail", startTimeout)
	watch.interrupt()
	if code := watch.wait(runTimeout); code != 0 {
		t.Errorf("watch exited %d on Ctrl-C, want 0: it runs until interrupted", code)
	}
}

// waitForWaiters waits until the broker holds n checks waiting for mail.
func waitForWaiters(t *testing.T, m *mesh, n int) {
	t.Helper()
	testbin.Eventually(t, runTimeout, "a check to wait for mail", func() bool { return m.status().Waiting == n })
}

// A check started with SIGINT ignored, as a shell starts a script's
// background job, keeps ignoring it: Ctrl-C stops the script and leaves
// the job waiting, and the job still gets its mail.
func TestCheckStartedIgnoringCtrlCKeepsWaiting(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skipf("bash is not on PATH: %v", err)
	}
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	cmd := exec.Command("bash", "-c", `trap "" INT; exec "$0" check --wait 10m --as reviewer`, ipcmeshBin)
	p := startCmd(t, cmd, "a check started ignoring SIGINT", m.environ(), nil)
	waitForWaiters(t, m, 1)
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	m.mustRun("send", "--as", "builder", "reviewer", "still there?")
	p.waitLine(p.stdout, "still there?", runTimeout)
	if code := p.wait(runTimeout); code != 0 {
		t.Errorf("the check exited %d, want 0 after printing its mail", code)
	}
}
