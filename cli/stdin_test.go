package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bulk is input of n bytes that counts how many of them were read, so a
// test can tell whether a command read on past its limit.
type bulk struct{ left, taken int }

func (b *bulk) Read(p []byte) (int, error) {
	if b.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), b.left)
	for i := range n {
		p[i] = 'x'
	}
	b.left -= n
	b.taken += n
	return n, nil
}

func TestReadAtMost(t *testing.T) {
	const limit = 100
	for _, tc := range []struct {
		size      int
		over      bool
		maxTaken  int
		wantBytes int
	}{
		{0, false, 0, 0},
		{limit, false, limit, limit},
		{limit + 1, true, limit + 1, 0},
		{10 * limit, true, limit + 1, 0},
	} {
		in := &bulk{left: tc.size}
		b, over, err := readAtMost(in, limit)
		if err != nil {
			t.Fatalf("%d bytes: %v", tc.size, err)
		}
		if over != tc.over || len(b) != tc.wantBytes {
			t.Errorf("%d bytes: got %d bytes, over %v; want %d, over %v", tc.size, len(b), over, tc.wantBytes, tc.over)
		}
		if in.taken > tc.maxTaken {
			t.Errorf("%d bytes: read %d of them, want at most %d", tc.size, in.taken, tc.maxTaken)
		}
	}
}

// TestInputOverTheLimitRefusedUnread feeds send, broadcast and share more
// than the message limit: each refuses at once, having read no more than
// the limit and a byte, and nothing reaches the mesh.
func TestInputOverTheLimitRefusedUnread(t *testing.T) {
	m := newHookMesh(t)
	bob := m.peer("bob")
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte{'y'}, 5000), 0o600); err != nil {
		t.Fatal(err)
	}
	const limit = 4096
	for _, tc := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"send", []string{"--as", "alice", "bob", "-"}, "the message on stdin is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)"},
		{"send", []string{"--as", "alice", "--lines", "bob", "-"}, "line 1 is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)"},
		{"broadcast", []string{"--as", "alice", "-"}, "the broadcast on stdin is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)"},
		{"share", []string{"--as", "alice", "notes"}, `the content for "notes" is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)`},
		{"share", []string{"--as", "alice", "notes", big}, `the content for "notes" is over the limit of 4096 bytes (IPC_MAX_MESSAGE_BYTES)`},
	} {
		in := &bulk{left: 1 << 20}
		e, out, errb := m.env("", "IPC_MAX_MESSAGE_BYTES=4096")
		e.Stdin = in
		code := Run(e, tc.cmd, tc.args)
		label := tc.cmd + " " + strings.Join(tc.args, " ")
		if code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 1 and %q\nstdout: %s", label, code, errb, tc.want, out)
		}
		if in.taken > limit+1 {
			t.Errorf("%s: read %d bytes of stdin, want at most the limit and one byte (%d)", label, in.taken, limit+1)
		}
	}
	if got := unreadContents(t, bob); len(got) != 0 {
		t.Errorf("bob got %d messages, want none", len(got))
	}
	list, err := bob.ListShared(hookCtx(t))
	if err != nil || len(list) != 0 {
		t.Errorf("shared keys %v, %v; want none", list, err)
	}
}

// TestSendLinesNamesLinesAsInTheInput: send --lines skips empty lines but
// counts them, so the line an error names is the line of the input. A
// line the broker refused says too how many were sent before it and that
// none after it was, as a line over the limit does: before, it said only
// the line's number and the broker's error ("the disk is full: ... make
// the request again"), and whoever ran the command again sent every line
// before it twice.
func TestSendLinesNamesLinesAsInTheInput(t *testing.T) {
	m := newHookMesh(t)
	bob := m.peerWith("bob", "IPC_MAX_MESSAGE_BYTES=10", "IPC_INBOX_CAP=2")
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"ok\n\n\n\nthis line is too long\n", []string{"line 5 is over the limit of 10 bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it; it and the lines after it were not sent (1 message sent before it)"}},
		// bob's inbox holds two: ok, and first; second, on line 4, finds it full.
		{"\nfirst\n\nsecond\nthird\n", []string{"line 4: the inbox of bob is full", "; the lines after it were not sent (1 message sent before it)"}},
	} {
		e, out, errb := m.env(tc.in, "IPC_MAX_MESSAGE_BYTES=10", "IPC_INBOX_CAP=2")
		code := Run(e, "send", []string{"--as", "alice", "--lines", "bob", "-"})
		for _, want := range tc.want {
			if code != 1 || !strings.Contains(errb.String(), want) {
				t.Errorf("send --lines bob - <<< %q: exit %d, stderr %q; want exit 1 and %q\nstdout: %s", tc.in, code, errb, want, out)
			}
		}
	}
	if got := unreadContents(t, bob); strings.Join(got, ",") != "ok,first" {
		t.Errorf("bob got %q; want the lines before the ones refused: ok, first", got)
	}
}

// cancelOnRead gives one line a read and calls off the command as the
// second line is read: it stands for Ctrl-C while send --lines runs.
type cancelOnRead struct {
	lines  []string
	cancel context.CancelFunc
	n      int
}

func (r *cancelOnRead) Read(p []byte) (int, error) {
	if r.n == len(r.lines) {
		return 0, io.EOF
	}
	if r.n == 1 {
		r.cancel()
	}
	k := copy(p, r.lines[r.n])
	r.n++
	return k, nil
}

// TestSendLinesInterruptedBeforeALineWentSaysItWasNotSent: send --lines
// stopped by Ctrl-C or SIGTERM before a line's request was written to the
// broker (here the interrupt comes as the line is read) says that line
// was not sent, nor any after it: the rest is sent again from that line.
// It said "line 2 may have been stored", as of a line the broker may have
// read, and whoever believed it sent the rest from line 3, losing line 2.
// (A line interrupted once written is in cmd/ipcmesh's
// TestInterruptedOnItsWaySaysItMayBeStored.)
func TestSendLinesInterruptedBeforeALineWentSaysItWasNotSent(t *testing.T) {
	m := newHookMesh(t)
	bob := m.peer("bob")
	cmd, _ := lookup("send")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e, _, errb := m.env("")
	e.Stdin = &cancelOnRead{lines: []string{"one\n", "two\n", "three\n"}, cancel: cancel}
	runCommand(ctx, e, cmd, []string{"--as", "alice", "--lines", "bob", "-"})
	want := "interrupted before line 2 went to the broker: it and the lines after it were not sent (1 message sent before it)"
	if !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q; want it to say %q", errb, want)
	}
	if strings.Contains(errb.String(), "may have been stored") {
		t.Errorf("stderr %q says a line never written may have been stored", errb)
	}
	if got := unreadContents(t, bob); strings.Join(got, ",") != "one" {
		t.Errorf("bob got %q; want only line 1", got)
	}
}
