package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
)

// startProfile starts a CPU profile of this process for command name when
// IPC_PROFILE_DIR names a folder, and returns what stops it and writes it
// out: DIR/NAME-PID.pprof.
//
// Why a variable and not a flag: a performance report needs the broker's
// profile as much as the command's, and a broker started in the background
// inherits the command's environment, not its flags. One file per process
// keeps the two from writing over each other.
func startProfile(e Env, name string) (stop func() error, err error) {
	dir := e.Getenv("IPC_PROFILE_DIR")
	if dir == "" {
		return func() error { return nil }, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("IPC_PROFILE_DIR=%s: %w: name a folder you may write to, or unset it", dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d.pprof", name, os.Getpid()))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("IPC_PROFILE_DIR=%s: %w: name a folder you may write to, or unset it", dir, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("IPC_PROFILE_DIR: start a CPU profile: %w (this process profiles itself already: unset IPC_PROFILE_DIR)", err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("IPC_PROFILE_DIR: write %s: %w", path, err)
		}
		return nil
	}, nil
}
