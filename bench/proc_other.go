//go:build !linux

package bench

import "os/exec"

func childAttrs(cmd *exec.Cmd) {}

// peakRSS is only read on linux, from /proc.
func peakRSS(pid int) (int64, error) { return 0, errNA }

// residentRSS is only read on linux, from /proc.
func residentRSS(pid int) (int64, error) { return 0, errNA }

// openFDs is only read on linux, from /proc.
func openFDs(pid int) (int, error) { return 0, errNA }
