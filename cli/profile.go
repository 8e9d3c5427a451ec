package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"

	"github.com/ipcmesh/ipcmesh/election"
)

// startProfile starts what IPC_PROFILE_DIR and IPC_TRACE_DIR ask of this
// process for command name: a CPU profile, DIR/NAME-PID.pprof, and a
// runtime execution trace, DIR/NAME-PID.trace. It returns what stops them
// and writes them out.
//
// Why variables and not flags: a performance report needs the broker's
// profile as much as the command's, and a broker started in the background
// inherits the command's environment, not its flags. One file per process
// keeps the two from writing over each other.
func startProfile(e Env, name string) (stop func() error, err error) {
	stopCPU, err := startOne(e, "IPC_PROFILE_DIR", name, ".pprof", pprof.StartCPUProfile, pprof.StopCPUProfile)
	if err != nil {
		return nil, err
	}
	stopTrace, err := startOne(e, "IPC_TRACE_DIR", name, ".trace", trace.Start, trace.Stop)
	if err != nil {
		stopCPU()
		return nil, err
	}
	return func() error { return errors.Join(stopTrace(), stopCPU()) }, nil
}

// quietProfile is the recording of a hook, which never fails an
// assistant's turn (hook.go): a recording that cannot start, or cannot be
// written out, is a line on stderr, and the hook runs without it. stop and
// err are startProfile's.
func quietProfile(e Env, stop func() error, err error) (func() error, error) {
	if err != nil {
		fmt.Fprintf(e.Stderr, "ipcmesh hook: %s; the hook runs unrecorded\n", oneLine(err))
		return func() error { return nil }, nil
	}
	return func() error {
		if err := stop(); err != nil {
			fmt.Fprintf(e.Stderr, "ipcmesh hook: %s\n", oneLine(err))
		}
		return nil
	}, nil
}

// startOne starts one recording of this process into a file of the
// folder the variable env names, if it names one.
func startOne(e Env, env, name, ext string, start func(w io.Writer) error, end func()) (stop func() error, err error) {
	dir := e.Getenv(env)
	if dir == "" {
		return func() error { return nil }, nil
	}
	// A "~/" no shell expanded (an assistant's JSON config) is the home
	// folder, as in IPC_DATA_DIR, not a folder named "~" in the folder
	// each process runs in.
	dir = election.ExpandHome(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s=%s: %w: name a folder you may write to, or unset it", env, dir, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%d%s", name, os.Getpid(), ext))
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s=%s: %w: name a folder you may write to, or unset it", env, dir, err)
	}
	if err := start(f); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("%s: start recording: %w (this process records itself already: unset %s)", env, err, env)
	}
	return func() error {
		end()
		if err := f.Close(); err != nil {
			return fmt.Errorf("%s: write %s: %w", env, path, err)
		}
		return nil
	}, nil
}
