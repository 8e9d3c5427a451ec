//go:build unix

package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A watch whose reader goes away in the middle of what it writes (`watch
// | head -1`) marks read the messages written out before, and no others:
// the next watch shows neither the line head printed nor, missing, the
// ones after it. The messages after the first are more than a pipe
// holds, so that the watch is writing when the reader goes.
func TestWatchMarksWhatItWroteBeforeItsReaderLeft(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("send", "--as", "alice", "bob", "first")
	var lines strings.Builder
	for i := range 99 {
		lines.WriteString(strings.Repeat("x", 1000))
		lines.WriteString(" line " + string(rune('a'+i%26)) + "\n")
	}
	if r := m.runIn(lines.String(), "send", "--as", "alice", "--lines", "bob", "-"); r.code != 0 {
		t.Fatalf("send --lines: %s", r)
	}

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(ipcmeshBin, "watch", "--as", "bob")
	cmd.Env = m.environ()
	cmd.Stdout = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	first, err := bufio.NewReader(r).ReadString('\n')
	r.Close()
	if err != nil || !strings.Contains(first, "alice: first") {
		t.Fatalf("watch printed %q (%v) first, want alice's first message", first, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(runTimeout):
		cmd.Process.Kill()
		t.Fatalf("watch did not end within %v of its reader leaving", runTimeout)
	}

	unread := m.check("--peek", "--as", "bob", "--limit", "1000").Messages
	if len(unread) == 0 || len(unread) == 100 {
		t.Fatalf("after the watch, %d of 100 messages are unread, want those it did not write out", len(unread))
	}
	for _, msg := range unread {
		if msg.Content == "first" {
			t.Errorf("the message watch printed first is still unread (%d of 100 unread): the next watch shows it again", len(unread))
		}
	}
	if last := unread[len(unread)-1]; !strings.HasSuffix(last.Content, " line "+string(rune('a'+98%26))) {
		t.Errorf("the last message unread is %.20q..., want the last one sent", last.Content)
	}
}
