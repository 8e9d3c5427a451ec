//go:build unix

package natstest

import "syscall"

// Freeze stops node i with SIGSTOP, as a host that hangs or is cut off
// without a reset: its connections stay open and nothing answers on them.
// Thaw resumes it.
func (p *Procs) Freeze(i int) { p.signal(i, syscall.SIGSTOP) }

// Thaw resumes node i after Freeze.
func (p *Procs) Thaw(i int) { p.signal(i, syscall.SIGCONT) }

func (p *Procs) signal(i int, sig syscall.Signal) {
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
}
