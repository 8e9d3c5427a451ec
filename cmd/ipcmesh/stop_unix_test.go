//go:build unix

package main

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// stopProcess stops pid with SIGSTOP and, where /proc shows it, waits
// until every thread of it has stopped. kill returns before a thread
// running on another CPU has stopped, and meanwhile it may still act: read
// that a client hung up and let go of its name, or read an answer. A test
// that stops a process to freeze what it holds must wait for the freeze.
func stopProcess(t *testing.T, pid int) {
	t.Helper()
	if err := signalPID(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stop pid %d: %v", pid, err)
	}
	if _, err := os.Stat("/proc/self/task"); err != nil {
		return // no /proc to watch the threads in
	}
	testbin.Eventually(t, runTimeout, fmt.Sprintf("every thread of pid %d to stop", pid), func() bool { return stopped(pid) })
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
