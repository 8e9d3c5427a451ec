package proc

import (
	"fmt"
	"strconv"
	"syscall"
)

// Started returns a mark of process pid's start, the same for as long as
// it runs and another for the next process with its pid: its creation
// time, as the system keeps it.
func Started(pid int) (string, error) {
	const processQueryLimitedInformation = 0x1000
	h, err := syscall.OpenProcess(processQueryLimitedInformation, false, uint32(pid))
	if err != nil {
		return "", fmt.Errorf("read the start of process %d: %w", pid, err)
	}
	defer syscall.CloseHandle(h)
	var created, exited, kernel, user syscall.Filetime
	if err := syscall.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return "", fmt.Errorf("read the start of process %d: %w", pid, err)
	}
	return strconv.FormatInt(created.Nanoseconds(), 10), nil
}
