package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openTerminal opens a pseudo-terminal: what a child writes to tty, the
// test reads from pty.
func openTerminal(t *testing.T) (pty, tty *os.File) {
	t.Helper()
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { pty.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, pty.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlock the pseudo-terminal: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, pty.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("name the pseudo-terminal: %v", e)
	}
	tty, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { tty.Close() })
	return pty, tty
}

// onTerminal runs ipcmesh with args, its stdout a terminal, and returns
// what the terminal received.
func (m *mesh) onTerminal(args ...string) string {
	m.t.Helper()
	pty, tty := openTerminal(m.t)
	ctx, cancel := context.WithTimeout(m.t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcmeshBin, args...)
	cmd.Env = m.environ()
	cmd.Stdout = tty
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		m.t.Fatalf("ipcmesh %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	tty.Close()
	out, _ := io.ReadAll(pty) // ends with EIO once the terminal is closed
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// get and fetch write what was stored byte for byte, but not onto a
// terminal, where another user's control characters would act.
func TestStoredTextOnATerminal(t *testing.T) {
	t.Parallel()
	m := newMesh(t, "IPC_LARGE_MESSAGE_BYTES=100")
	m.mustRun("register", "bob")
	m.runIn(forged, "share", "plan", "--as", "mallory")
	large := forged + strings.Repeat(" padding", 20)
	m.runIn(large, "send", "--as", "mallory", "bob", "-")
	var unread struct{ Messages []struct{ ID string } }
	m.mustJSON(&unread, "check", "--peek", "--json", "--as", "bob")
	if len(unread.Messages) != 1 {
		t.Fatalf("bob has %d unread messages, want 1", len(unread.Messages))
	}
	for _, tc := range []struct {
		args   []string
		stored string
	}{
		{[]string{"get", "plan", "--as", "bob"}, forged},
		{[]string{"fetch", unread.Messages[0].ID, "--as", "bob"}, large + "\n"},
	} {
		args := tc.args
		if got := m.mustRun(args...).stdout; got != tc.stored {
			t.Errorf("ipcmesh %s into a pipe wrote %q, want what was stored", args[0], got)
		}
		got := m.onTerminal(args...)
		terminalSafe(t, args[0]+" on a terminal", got)
		wantIn(t, args[0]+" on a terminal", got, "␛[2K", "␇")
	}
}

// A message read from stdin that is a terminal is typed there: the
// command says so, and how to end it, rather than wait in silence.
// Piped, it says nothing of the kind.
func TestStdinOnATerminalSaysHowToEnd(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	pty, tty := openTerminal(t)
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcmeshBin, "send", "--as", "alice", "bob", "-")
	cmd.Env = m.environ()
	cmd.Stdin = tty
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The terminal's line discipline ends the input at a ^D that starts
	// a line.
	if _, err := pty.Write([]byte("typed on a terminal\n\x04")); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("send bob - from a terminal: %v\n%s", err, stderr.String())
	}
	wantIn(t, "send bob - from a terminal", stderr.String(), `type the message to "bob", and end it with Ctrl-D`)
	wantIn(t, "bob's mail", m.mustRun("check", "--as", "bob").stdout, "typed on a terminal")
	if r := m.runIn("piped\n", "send", "--as", "alice", "bob", "-"); strings.Contains(r.stderr, "Ctrl-D") {
		t.Errorf("send bob - from a pipe: stderr %q speaks of a terminal", r.stderr)
	}
	// The null device, which assistants give the commands they run, is
	// a character device as a terminal is, and no terminal.
	null := startProc(t, m.environ(), nil, nil, "send", "--as", "alice", "bob", "-")
	null.wait(runTimeout)
	if s := null.stderr.String(); strings.Contains(s, "Ctrl-D") {
		t.Errorf("send bob - from the null device: stderr %q speaks of a terminal", s)
	}
}
