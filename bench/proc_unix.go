//go:build unix

package bench

import (
	"os"
	"syscall"
)

// terminate asks a child to stop as Ctrl-C or kill would: a broker hands
// over, an agent leaves.
func terminate(p *os.Process) { p.Signal(syscall.SIGTERM) }
