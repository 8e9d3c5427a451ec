package testbin

import (
	"os"
	"path/filepath"
	"strconv"
)

// workingIn returns the pids of the processes whose working folder is dir.
// A detached broker works in its data folder from the moment it starts,
// before it records itself in broker.json, which it does once its store
// is open: one still opening a store (a NATS cluster out of reach, for up
// to a minute) is found only so.
func workingIn(dir string) []int {
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == want {
			pids = append(pids, pid)
		}
	}
	return pids
}
