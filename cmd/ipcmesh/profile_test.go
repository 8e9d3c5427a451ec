package main

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// With IPC_PROFILE_DIR set, each process writes its own CPU profile: the
// command, and the broker it started in the background, which inherits
// the variable and must not write over the command's file.
func TestProfileDir(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "profiles")
	m := newMesh(t).withEnv("IPC_PROFILE_DIR=" + dir)
	m.mustRun("send", "--as", "a", "b", "profiled")
	pid, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("the send started no detached broker")
	}
	m.mustRun("stop")
	// The broker is not this test's child: nothing announces its exit.
	testbin.Eventually(t, runTimeout, "the stopped broker to exit", func() bool { return !testbin.Alive(pid) })

	for _, pattern := range []string{"send-*.pprof", "stop-*.pprof", "broker-" + strconv.Itoa(pid) + ".pprof"} {
		found, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(found) != 1 {
			all, _ := filepath.Glob(filepath.Join(dir, "*"))
			t.Errorf("IPC_PROFILE_DIR holds %q, want one %s", all, pattern)
			continue
		}
		checkProfile(t, found[0])
	}
}

// A folder that cannot be made is an error that names the variable, and
// the command does nothing.
func TestProfileDirUnwritable(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := newMesh(t).withEnv("IPC_PROFILE_DIR=" + filepath.Join(file, "profiles"))
	msg := oneLineError(t, m.run("send", "--as", "a", "b", "lost?"), "send")
	if !strings.Contains(msg, "IPC_PROFILE_DIR=") || !strings.Contains(msg, "unset it") {
		t.Errorf("the error %q does not name IPC_PROFILE_DIR and the way out", msg)
	}
	if !portFree(t, m.port) {
		t.Error("the refused command started a broker")
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
