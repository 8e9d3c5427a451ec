package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// childAttrs makes a child die with the bench: a broker left behind would
// hold its port and folder for nothing.
func childAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// peakRSS returns the peak resident set size (VmHWM) of process pid in
// bytes, read from /proc/PID/status.
func peakRSS(pid int) (int64, error) { return statusBytes(pid, "VmHWM") }

// residentRSS returns the resident set size (VmRSS) of process pid now, in
// bytes.
func residentRSS(pid int) (int64, error) { return statusBytes(pid, "VmRSS") }

// openFDs returns how many descriptors process pid has open.
func openFDs(pid int) (int, error) {
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(fds), err
}

// statusBytes reads a size in kB from /proc/PID/status.
func statusBytes(pid int, key string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("unexpected %s line %q", key, sc.Text())
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", key, pid)
}
