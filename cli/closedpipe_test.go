package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// closedPipe returns the write end of a pipe whose reader is gone, as a
// command's stdout is in `ipcmesh list | head -1` once head has exited.
func closedPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	return w
}

// builderEnv registers builder in a mesh of its own and returns an Env
// of that mesh writing to stdout, with its stderr.
func builderEnv(t *testing.T, stdout *os.File) (Env, *testbin.Buffer) {
	t.Helper()
	m := newHookMesh(t)
	if r := m.run("", "register", "builder"); r.code != 0 {
		t.Fatalf("register: %+v", r)
	}
	errb := &testbin.Buffer{}
	return Env{Stdin: strings.NewReader(""), Stdout: stdout, Stderr: errb, Getenv: m.getenv()}, errb
}

// TestReaderGoneEndsQuietly: a command whose output nobody reads any more
// says nothing and ends with the status of a program that SIGPIPE ended.
// Before, it said "ipcmesh list: write |1: broken pipe" and exited 1, as
// it did on Windows into `| head -1` for any pipe.
func TestReaderGoneEndsQuietly(t *testing.T) {
	e, errb := builderEnv(t, closedPipe(t))
	if code := Run(e, "list", nil); code != readerGoneStatus || errb.String() != "" {
		t.Errorf("list into a pipe whose reader is gone: exit %d, stderr %q; want %d and nothing said", code, errb.String(), readerGoneStatus)
	}
}

// TestFullDiskStillSaysSo: a write that fails for another reason than a
// reader gone is an error to tell: stdout redirected to a full disk.
func TestFullDiskStillSaysSo(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	e, errb := builderEnv(t, full)
	if code := Run(e, "list", nil); code != 1 || !strings.HasPrefix(errb.String(), "ipcmesh list: write /dev/full: ") {
		t.Errorf("list into a full disk: exit %d, stderr %q; want 1 and the write's error", code, errb.String())
	}
}

// readerGoneChild, set in a child's environment, makes the test below run
// the command its value names (its words split on spaces) as the program
// does, with the child's own stdout and stderr.
const readerGoneChild = "IPCMESH_TEST_READER_GONE"

// TestReaderGoneEndsQuietlyAsAProgram: the program itself, its stdout a
// pipe whose reader is gone. On unix the Go runtime ends it with SIGPIPE
// at that write; on Windows, which has no SIGPIPE, the write fails, and
// before the command said "ipcmesh list: write /dev/stdout: The pipe is
// being closed." and exited 1.
func TestReaderGoneEndsQuietlyAsAProgram(t *testing.T) {
	if args := os.Getenv(readerGoneChild); args != "" {
		e := OS()
		e.Self = "" // the broker is hosted in this process for its run
		words := strings.Fields(args)
		os.Exit(Run(e, words[0], words[1:]))
	}
	m := newHookMesh(t)
	if r := m.run("", "register", "builder"); r.code != 0 {
		t.Fatalf("register: %+v", r)
	}
	cmd := exec.CommandContext(hookCtx(t), os.Args[0], "-test.run=^TestReaderGoneEndsQuietlyAsAProgram$")
	cmd.Env = append(testbin.CleanEnviron(), readerGoneChild+"=list",
		"IPC_HOST=127.0.0.1", "IPC_PORT="+strconv.Itoa(m.port), "IPC_DATA_DIR="+m.dir)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = closedPipe(t), &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("list into a pipe whose reader is gone: %v, want it to end as SIGPIPE ends a program", err)
	}
	ws, _ := ee.Sys().(syscall.WaitStatus)
	if code := ee.ExitCode(); code != readerGoneStatus && !(ws.Signaled() && ws.Signal() == syscall.SIGPIPE) {
		t.Errorf("list into a pipe whose reader is gone: %v, want exit %d or SIGPIPE", ee, readerGoneStatus)
	}
	if stderr.Len() > 0 {
		t.Errorf("list into a pipe whose reader is gone said %q, want nothing", stderr.String())
	}
}

// TestWatchEndsWhenItsReaderGoes: `ipcmesh watch | grep -m1 deploy`,
// once grep has exited. With no mail coming, the watch found out only at
// the next message's write, and held its name online until then; it now
// ends, as that write would have ended it.
func TestWatchEndsWhenItsReaderGoes(t *testing.T) {
	e, errb := builderEnv(t, closedPipe(t))
	done := make(chan int, 1)
	go func() { done <- Run(e, "watch", []string{"--as", "builder"}) }()
	select {
	case code := <-done:
		if code != readerGoneStatus {
			t.Errorf("watch whose reader went away: exit %d, stderr %q; want %d", code, errb.String(), readerGoneStatus)
		}
	case <-hookCtx(t).Done():
		t.Fatal("watch went on for 30 s after its reader went away, with no mail to write")
	}
}
