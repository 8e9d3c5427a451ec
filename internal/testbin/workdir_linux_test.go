package testbin

import (
	"os/exec"
	"testing"
	"time"
)

// A detached broker that has not yet recorded itself in broker.json (it
// is still opening its store) is stopped all the same when the test that
// made its data folder ends: left running, it wrote into the folder while
// the test's cleanup removed it.
func TestStopDetachedBrokersStopsOneNotYetRecorded(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sleep", "60") // as a broker, working in its data folder
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Run("a test of the folder", func(t *testing.T) { StopDetachedBrokers(t, dir) })
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("a process working in the data folder, not in its broker.json, outlived the test that made the folder")
	}
}
