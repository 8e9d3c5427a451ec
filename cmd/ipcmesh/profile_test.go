package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// With IPC_PROFILE_DIR and IPC_TRACE_DIR set, each process writes its
// own CPU profile and execution trace: the command, and the broker it
// started in the background, which inherits the variables and must not
// write over the command's files.
func TestProfileDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "profiles")
	traces := filepath.Join(t.TempDir(), "traces")
	m := newMesh(t).withEnv("IPC_PROFILE_DIR="+dir, "IPC_TRACE_DIR="+traces)
	m.mustRun("send", "--as", "a", "b", "profiled")
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("the send started no detached broker")
	}
	m.mustRun("stop")
	// The broker is not this test's child: nothing announces its exit.
	testbin.Eventually(t, runTimeout, "the stopped broker to exit", func() bool { return !testbin.Alive(pid) })

	for _, c := range []struct {
		env, dir, ext string
		check         func(*testing.T, string)
	}{
		{"IPC_PROFILE_DIR", dir, ".pprof", checkProfile},
		{"IPC_TRACE_DIR", traces, ".trace", checkTrace},
	} {
		// The broker is asked to stop, on Windows too, and writes its
		// own as it exits.
		patterns := []string{"send-*", "stop-*", "broker-" + strconv.Itoa(pid)}
		for _, pattern := range patterns {
			found, _ := filepath.Glob(filepath.Join(c.dir, pattern+c.ext))
			if len(found) != 1 {
				all, _ := filepath.Glob(filepath.Join(c.dir, "*"))
				t.Errorf("%s holds %q, want one %s%s", c.env, all, pattern, c.ext)
				continue
			}
			c.check(t, found[0])
		}
	}
}

// A folder that cannot be made is an error that names the variable, and
// the command does nothing.
func TestProfileDirUnwritable(t *testing.T) {
	t.Parallel()
	for _, env := range []string{"IPC_PROFILE_DIR", "IPC_TRACE_DIR"} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "a-file")
			if err := os.WriteFile(file, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			m := newMesh(t).withEnv(env + "=" + filepath.Join(file, "profiles"))
			msg := oneLineError(t, m.run("send", "--as", "a", "b", "lost?"), "send")
			if !strings.Contains(msg, env+"=") || !strings.Contains(msg, "unset it") {
				t.Errorf("the error %q does not name %s and the way out", msg, env)
			}
			if !portFree(t, m.port) {
				t.Error("the refused command started a broker")
			}
		})
	}
}

// checkProfile checks that path holds a whole gzip stream, as pprof
// writes a profile.
func checkProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s is not a profile: %v", filepath.Base(path), err)
		return
	}
	if n, err := io.Copy(io.Discard, zr); err != nil || n == 0 {
		t.Errorf("%s is not a whole profile: %d bytes, %v", filepath.Base(path), n, err)
	}
}

// checkTrace checks that path holds an execution trace: runtime/trace
// begins one with its version.
func checkTrace(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
		t.Errorf("%s is not an execution trace (%d bytes, %v)", filepath.Base(path), len(b), err)
	}
}

// An IPC_PROFILE_DIR of "~/x" that no shell expanded (an assistant's JSON
// config) is x in the home folder, for the command and for the broker it
// starts in the background alike: not a folder named "~" in the folder
// each runs in, nor one under the command's made absolute for the broker.
func TestProfileDirUnderHome(t *testing.T) {
	t.Parallel()
	home, work := t.TempDir(), t.TempDir()
	m := newMesh(t).withEnv("HOME="+home, "USERPROFILE="+home, "IPC_PROFILE_DIR=~"+string(filepath.Separator)+"profiles")
	inWork := func(c *exec.Cmd) { c.Dir = work }
	if p := m.startWith(inWork, nil, "send", "--as", "a", "b", "profiled"); p.wait(runTimeout) != 0 {
		t.Fatalf("send: %s", p.stderr.String())
	}
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("the send started no detached broker")
	}
	if p := m.startWith(inWork, nil, "stop"); p.wait(runTimeout) != 0 {
		t.Fatalf("stop: %s", p.stderr.String())
	}
	testbin.Eventually(t, runTimeout, "the stopped broker to exit", func() bool { return !testbin.Alive(pid) })
	for _, pattern := range []string{"send-*.pprof", "broker-" + strconv.Itoa(pid) + ".pprof"} {
		if found, _ := filepath.Glob(filepath.Join(home, "profiles", pattern)); len(found) != 1 {
			t.Errorf("the home folder's profiles folder holds no %s", pattern)
		}
	}
	if entries, _ := os.ReadDir(work); len(entries) > 0 {
		t.Errorf("the working folder holds %v; want nothing made there", entries)
	}
}
