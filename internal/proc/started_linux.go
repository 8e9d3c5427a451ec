package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Started returns a mark of process pid's start, the same for as long as
// it runs and another for the next process with its pid: the boot's id
// and the clock ticks from boot to the process's start, which the kernel
// keeps in /proc and no change of the wall clock moves.
func Started(pid int) (string, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", fmt.Errorf("read the start of process %d: %w", pid, err)
	}
	// The fields after the command name, which is in parentheses and may
	// hold anything: the state (field 3 of proc(5)) first, the start time
	// (field 22) twentieth.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", fmt.Errorf("read the start of process %d: no command name in %q", pid, stat)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("read the start of process %d: %d fields after its name", pid, len(fields))
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read the boot's id: %w", err)
	}
	return strings.TrimSpace(string(boot)) + "/" + fields[19], nil
}
