package proc

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Started returns a mark of process pid's start, the same for as long as
// it runs and another for the next process with its pid: the start time
// the kernel recorded for it.
func Started(pid int) (string, error) {
	k, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return "", fmt.Errorf("read the start of process %d: %w", pid, err)
	}
	if int(k.Proc.P_pid) != pid {
		return "", fmt.Errorf("read the start of process %d: no such process", pid)
	}
	t := k.Proc.P_starttime
	return fmt.Sprintf("%d.%06d", t.Sec, t.Usec), nil
}
