//go:build unix

package proc

import (
	"bytes"
	"errors"
	"math"
	"os"
	"strconv"
	"syscall"
)

// Alive reports whether a process with this pid is running. Signal
// 0 checks without sending anything; EPERM means it exists but is another
// user's. Where /proc shows it, a zombie counts as gone: it has exited and
// only its parent has yet to collect it.
func Alive(pid int) bool {
	// Kill takes 0 and -1 for groups of processes, and the system reads
	// a pid past 32 bits by its low half: 4294967297, from a damaged
	// record, would be process 1, which always runs. No process has any
	// of these.
	if pid <= 0 || pid > math.MaxInt32 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses and may
	// hold anything, so look after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
