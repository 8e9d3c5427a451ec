//go:build unix

package natstest

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// Freeze stops node i with SIGSTOP, as a host that hangs or is cut off
// without a reset: its connections stay open and nothing answers on them.
// Thaw resumes it.
func (p *Procs) Freeze(i int) {
	p.tb.Helper()
	pid := p.signal(i, syscall.SIGSTOP)
	// The signal is delivered as the node is next scheduled: a request
	// sent right after kill(2) returns could still be answered. Where
	// /proc tells, wait until the node is stopped.
	stat := fmt.Sprintf("/proc/%d/stat", pid)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return
		}
		// The state follows the command name's closing parenthesis.
		if f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:])); len(f) > 0 && f[0] == "T" {
			return
		}
		time.Sleep(time.Millisecond)
	}
	p.tb.Fatalf("node %s did not stop within 5 s of SIGSTOP", p.cfgs[i].Name)
}

// Thaw resumes node i after Freeze.
func (p *Procs) Thaw(i int) { p.signal(i, syscall.SIGCONT) }

// Pid is node i's process id, for a child process of the test that
// signals it while the test's own process is stopped.
func (p *Procs) Pid(i int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cmd := p.procs[i]; cmd != nil {
		return cmd.Process.Pid
	}
	return 0
}

func (p *Procs) signal(i int, sig syscall.Signal) (pid int) {
	p.tb.Helper()
	p.mu.Lock()
	cmd := p.procs[i]
	p.mu.Unlock()
	if cmd == nil {
		p.tb.Fatalf("signal node %s: it is not running", p.cfgs[i].Name)
	}
	if err := cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("signal node %s: %v", p.cfgs[i].Name, err)
	}
	return cmd.Process.Pid
}
