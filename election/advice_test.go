package election

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// The advice for a broker that does not answer or will not stop speaks
// the words of the user's system: a Windows user has no kill, fg or
// Ctrl-Z to stop a process with, and ends one with taskkill.
func TestAdviceForAStuckBrokerFitsTheSystem(t *testing.T) {
	for _, tc := range []struct {
		goos      string
		want, not []string
	}{
		{"windows", []string{"taskkill /PID 4242 /F"}, []string{"kill -", "kill 4242", "fg", "Ctrl-Z"}},
		{"linux", []string{"kill -CONT 4242", "kill -9 4242"}, []string{"taskkill", "kill 4242"}},
		{"darwin", []string{"kill -CONT 4242", "kill -9 4242"}, []string{"taskkill", "kill 4242"}},
	} {
		adviceSays(t, tc.goos, unstickAdvice(tc.goos, 4242)+"\n"+forceAdvice(tc.goos, 4242), tc.want, tc.not)
	}
}

// The way to stop the broker of a data folder that peers reach on
// another port or host is a command the user's shell runs: cmd and
// PowerShell have no VAR=value before a command, and took
// "IPC_PORT=9900 ipcmesh stop" for a program called IPC_PORT=9900.
func TestStopWithFitsTheShell(t *testing.T) {
	for _, tc := range []struct {
		goos      string
		want, not []string
	}{
		{"windows", []string{"set IPC_PORT=9900", "$env:IPC_PORT='9900'", "then ipcmesh stop"}, []string{"IPC_PORT=9900 ipcmesh"}},
		{"linux", []string{"IPC_PORT=9900 ipcmesh stop"}, []string{"set ", "$env:"}},
	} {
		adviceSays(t, tc.goos, stopWith(tc.goos, "IPC_PORT", "9900"), tc.want, tc.not)
	}
}

// TestServedElsewhereSaysHowToStopIt: the refusal of a data folder whose
// broker serves another port ends in a command the user's shell runs.
func TestServedElsewhereSaysHowToStopIt(t *testing.T) {
	dir := t.TempDir()
	start, err := proc.Started(os.Getpid())
	if err != nil {
		t.Skipf("this system does not tell a process's start: %v", err)
	}
	// This process stands for the live broker the record names.
	if err := writeBrokerRecord(dir, brokerRecord{PID: os.Getpid(), Start: start, Addr: "127.0.0.1:9900", Started: time.Now()}); err != nil {
		t.Fatal(err)
	}
	err = servedElsewhere(Config{DataDir: dir, Addr: "127.0.0.1:9876"})
	if err == nil {
		t.Fatal("a folder served on another port was not refused")
	}
	if want := stopWith(runtime.GOOS, "IPC_PORT", "9900"); !strings.Contains(err.Error(), want) {
		t.Errorf("the refusal %q does not say %q", err, want)
	}
}

// adviceSays checks that the advice given for goos says every one of want
// and none of not.
func adviceSays(t *testing.T, goos, advice string, want, not []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(advice, w) {
			t.Errorf("%s: the advice %q does not say %q", goos, advice, w)
		}
	}
	for _, n := range not {
		if strings.Contains(advice, n) {
			t.Errorf("%s: the advice %q says %q", goos, advice, n)
		}
	}
}
