//go:build unix

package testbin

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Stop stops the process pid with SIGSTOP and, where /proc shows it, waits
// until every thread of it has stopped. kill returns before a thread
// running on another CPU has stopped, and meanwhile the process may still
// act: answer a request, read that a client hung up and let go of its
// name. A test that stops a process to freeze it must wait for the freeze.
func Stop(tb testing.TB, pid int, timeout time.Duration) {
	tb.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		tb.Fatalf("stop pid %d: %v", pid, err)
	}
	if _, err := os.Stat("/proc/self/task"); err != nil {
		return // no /proc to watch the threads in
	}
	Eventually(tb, timeout, fmt.Sprintf("every thread of pid %d to stop", pid), func() bool { return stopped(pid) })
}

// stopped reports whether every thread of pid is stopped, from the state
// field of /proc/PID/task/TID/stat.
func stopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, task := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name()))
		if err != nil {
			return false
		}
		// "tid (comm) state ...": comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 || i+2 >= len(s) {
			return false
		}
		if state := s[i+2]; state != 'T' && state != 't' {
			return false
		}
	}
	return true
}
