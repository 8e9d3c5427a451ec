//go:build !unix

package bench

import "os"

// terminate stops a child; without signals it can only be killed.
func terminate(p *os.Process) { p.Kill() }
