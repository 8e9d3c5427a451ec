//go:build !linux

package cli

import "os/exec"

// tieToDemo does nothing where the kernel cannot signal a child when its
// parent ends: the demo stops its broker itself whenever it can.
func tieToDemo(*exec.Cmd) {}
