package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// A check whose output cannot be written, to a full disk or into a pipe
// whose reader is gone, marks nothing read: the mail is there for the next
// check, as the README says.
func TestCheckMarksNothingReadItCouldNotWrite(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	m.mustRun("register", "builder")
	m.mustRun("send", "reviewer", "the build is green")

	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	gone, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	gone.Close()
	defer w.Close()

	for _, out := range []struct {
		what string
		f    *os.File
	}{{"a full disk", full}, {"a pipe whose reader is gone", w}} {
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		cmd := exec.CommandContext(ctx, ipcmeshBin, "check", "--as", "reviewer")
		var stderr bytes.Buffer
		cmd.Env, cmd.Stdout, cmd.Stderr = m.environ(), out.f, &stderr
		err := cmd.Run()
		cancel()
		if err == nil {
			t.Errorf("check into %s succeeded", out.what)
		}
		if out.f == full && !strings.Contains(stderr.String(), "no space") {
			t.Errorf("check into a full disk said %q, want the reason", stderr.String())
		}
	}
	if got := m.check("--as", "reviewer").Messages; len(got) != 1 || got[0].Content != "the build is green" {
		t.Errorf("after the checks that could not write: %+v, want the message still unread", got)
	}
}
