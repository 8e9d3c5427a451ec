package election

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
)

// testLogCap is the cap of the logs of these tests: a few KiB, so that
// they rotate many times in a few hundred lines.
const testLogCap = 4 << 10

// A detached broker's log is bounded while the broker runs, not only when
// one starts: before, a broker that ran for weeks wrote broker.log without
// bound. It is started anew before it would pass its cap, the old one kept
// as broker.log.1, and no line is lost between the two but those older
// than broker.log.1.
func TestBrokerLogCappedWhileTheBrokerRuns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, brokerLog)
	f := mustOpenBrokerLog(t, dir) // as spawn opens it for the broker
	defer f.Close()
	l := newCappedLog(f, path, testLogCap)
	if l == nil {
		t.Fatal("no capped log of broker.log")
	}
	const lines = 1000
	log := slog.New(slog.NewTextHandler(l, nil))
	for n := range lines {
		log.Info("a line of the broker's log", "n", n)
	}

	for _, name := range []string{path, path + ".1"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatalf("after %d lines: %v", lines, err)
		}
		if fi.Size() > testLogCap {
			t.Errorf("%s holds %d bytes after %d lines, want at most its cap, %d", filepath.Base(name), fi.Size(), lines, testLogCap)
		}
		if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", filepath.Base(name), fi.Mode().Perm())
		}
	}
	if t.Failed() {
		return
	}
	older, newer := readLogLines(t, path+".1"), readLogLines(t, path)
	if len(older) == 0 || len(newer) == 0 {
		t.Fatalf("broker.log.1 holds %d lines and broker.log %d, want the older and the newer lines", len(older), len(newer))
	}
	all := append(older, newer...)
	if all[0] == 0 {
		t.Errorf("the two files hold the log from its first line, after %d lines: it was not rotated", lines)
	}
	for i, n := range all {
		if n != all[0]+i {
			t.Fatalf("line %d of the two files is line %d of the log, want %d: lines were lost between them (broker.log.1 holds %d..%d, broker.log %d..%d)",
				i, n, all[0]+i, older[0], older[len(older)-1], newer[0], newer[len(newer)-1])
		}
	}
	if last := all[len(all)-1]; last != lines-1 {
		t.Errorf("the last line is %d, want %d", last, lines-1)
	}
}

// A stderr that is not the data folder's broker.log (a broker run by
// hand, or a test's) is written as it is, never renamed.
func TestDetachedLogLeavesAnotherStderrAlone(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	if w := DetachedLog(&buf, dir); w != &buf {
		t.Errorf("DetachedLog of a buffer is %T, want the buffer", w)
	}
	other, err := os.Create(filepath.Join(dir, "other.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if w := DetachedLog(other, dir); w != other {
		t.Errorf("DetachedLog of a file that is not broker.log is %T, want the file", w)
	}
	f := mustOpenBrokerLog(t, dir)
	defer f.Close()
	if _, ok := DetachedLog(f, dir).(*cappedLog); !ok {
		t.Errorf("DetachedLog of broker.log does not cap it")
	}
}

// A log that cannot be rotated (its folder made read-only) says so once,
// with what to do, and goes on; once the folder is writable again, it is
// rotated at the next write.
func TestBrokerLogThatCannotRotateSaysSo(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, brokerLog)
	f := mustOpenBrokerLog(t, dir)
	defer f.Close()
	l := newCappedLog(f, path, testLogCap)
	if l == nil {
		t.Fatal("no capped log of broker.log")
	}
	writable := readonly.Folder(t, dir)
	log := slog.New(slog.NewTextHandler(l, nil))
	const lines = 200 // past the cap three times over
	for n := range lines {
		log.Info("a line of the broker's log", "n", n)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const warning = "cannot start a new log"
	if got := strings.Count(string(b), warning); got != 1 || !strings.Contains(string(b), "writable") {
		t.Errorf("a log past its cap in a read-only folder says %q %d times, want once, with what to do:\n%.2000s", warning, got, b)
	}
	if got := strings.Count(string(b), "a line of the broker's log"); got != lines {
		t.Errorf("the log that cannot be rotated holds %d of its %d lines", got, lines)
	}
	writable()
	log.Info("a line once the folder is writable")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > testLogCap {
		t.Errorf("broker.log, once the folder is writable again, holds %d bytes, want it started anew, under %d", fi.Size(), testLogCap)
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Errorf("broker.log.1, once the folder is writable again: %v", err)
	}
}

// brokerLogChildEnv makes TestBrokerLogChild play a detached broker that
// logs past its log's cap and then crashes: its value is the data folder.
const brokerLogChildEnv = "ELECTION_BROKER_LOG_CHILD"

// What the child writes to its stderr, past the log, once the log was
// rotated, and the panic it then crashes with.
const (
	childStderrLine = "written to stderr after the log was rotated"
	childPanic      = "the broker crashed after its log was rotated"
)

// The trace of a crash, which the runtime writes to stderr and not
// through the log, lands in broker.log after the log was rotated while
// the broker ran, as anything written to stderr does: the file spawn's
// errors point to. Had the log only gone on in a new file, stderr would
// still be the first one, renamed broker.log.1 and then replaced: the
// trace lost.
func TestBrokerLogCrashAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, brokerLog)
	logf := mustOpenBrokerLog(t, dir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestBrokerLogChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), brokerLogChildEnv+"="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, logf
	err := cmd.Run()
	logf.Close()
	newer, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatal(rerr)
	}
	older, rerr := os.ReadFile(path + ".1")
	if rerr != nil {
		t.Fatalf("the child's log was not rotated: %v; broker.log holds %d bytes, its cap is %d\nthe child's output: %s", rerr, len(newer), testLogCap, out.String())
	}
	if err == nil {
		t.Fatalf("the child did not crash\nits output: %s", out.String())
	}
	for _, want := range []string{childStderrLine, "panic: " + childPanic, "goroutine "} {
		if !strings.Contains(string(newer), want) {
			t.Errorf("broker.log does not hold %q (broker.log.1 does: %v); its end:\n%s", want, strings.Contains(string(older), want), newer[max(0, len(newer)-600):])
		}
	}
	// broker.log is the log after its last rotation, the crash after it.
	before, _, _ := strings.Cut(string(newer), childStderrLine)
	if len(before) > testLogCap || !strings.Contains(before, "a line of the broker's log") {
		t.Errorf("broker.log holds %d bytes of the log before the crash, want some and at most %d", len(before), testLogCap)
	}
	if len(older) > testLogCap || !strings.Contains(string(older), "a line of the broker's log") {
		t.Errorf("broker.log.1 holds %d bytes, want lines of the log and at most %d", len(older), testLogCap)
	}
}

// TestBrokerLogChild is a child's part in TestBrokerLogCrashAfterRotation,
// not a test of its own: it logs through a capped broker.log, its stderr,
// until the log was rotated twice, writes to stderr, and crashes.
func TestBrokerLogChild(t *testing.T) {
	dir := os.Getenv(brokerLogChildEnv)
	if dir == "" {
		t.Skip("the part of a child of TestBrokerLogCrashAfterRotation")
	}
	l := newCappedLog(os.Stderr, filepath.Join(dir, brokerLog), testLogCap)
	if l == nil {
		t.Fatal("the child's stderr is not broker.log")
	}
	log := slog.New(slog.NewTextHandler(l, nil))
	for n := range 3 * testLogCap / 50 { // lines of about 70 bytes
		log.Info("a line of the broker's log", "n", n)
	}
	fmt.Fprintln(os.Stderr, childStderrLine)
	// In a goroutine of its own, out of reach of the test's recover, as
	// a broker's crash is.
	go func() { panic(childPanic) }()
	select {}
}

// readLogLines returns the n of each line of the log at path, failing
// the test on a line that is not one of the log's whole.
func readLogLines(t *testing.T, path string) []int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ns []int
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err == io.EOF && line == "" {
			return ns
		}
		if err != nil {
			t.Fatalf("%s ends in a part of a line: %q (%v)", filepath.Base(path), line, err)
		}
		_, v, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " n=")
		n, cerr := strconv.Atoi(v)
		if !ok || cerr != nil {
			t.Fatalf("%s holds a line that is not the log's: %q", filepath.Base(path), line)
		}
		ns = append(ns, n)
	}
}
