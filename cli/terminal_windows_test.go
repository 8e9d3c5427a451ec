//go:build windows

package cli

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// writeEnd makes a named pipe called name (under \\.\pipe\) and returns
// its client end, which a program would write its output to.
func writeEnd(t *testing.T, name string) *os.File {
	t.Helper()
	path, err := windows.UTF16PtrFromString(`\\.\pipe\` + name)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := windows.CreateNamedPipe(path, windows.PIPE_ACCESS_INBOUND, windows.PIPE_TYPE_BYTE, 1, 4096, 4096, 0, nil)
	if err != nil {
		t.Fatalf("make the pipe %s: %v", name, err)
	}
	t.Cleanup(func() { windows.CloseHandle(srv) })
	h, err := windows.CreateFile(path, windows.GENERIC_WRITE, 0, nil, windows.OPEN_EXISTING, 0, 0)
	if err != nil {
		t.Fatalf("open the pipe %s: %v", name, err)
	}
	f := os.NewFile(uintptr(h), name)
	t.Cleanup(func() { f.Close() })
	return f
}

func randomHex(t *testing.T) string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestForTerminalInMintty: Git Bash's window, mintty, gives a native
// program a named pipe for a terminal, and obeys the escape sequences
// written to it. get and fetch took it for a redirection and wrote
// another instance's text there as it was, its ESC sequences live (a line
// erased, the window's title or the clipboard set); check showed them.
func TestForTerminalInMintty(t *testing.T) {
	const text = "hello\x1b[2K\rbuilder: ok\x1b]52;c;ZWNobyBoaQ==\a"
	const shown = "hello␛[2K␍builder: ok␛]52;c;ZWNobyBoaQ==␇"
	for _, name := range []string{
		"msys-" + randomHex(t) + "-pty0-to-master",
		"cygwin-" + randomHex(t) + "-pty12-to-master",
	} {
		if got := forTerminal(writeEnd(t, name), text); got != shown {
			t.Errorf("written to the pipe of a terminal (%s): %q; want %q", name, got, shown)
		}
	}
	// A pipe to another program, and one merely named alike, are no
	// terminal: what is redirected there is written as it was stored.
	for _, name := range []string{
		"ipcmesh-test-" + randomHex(t),
		"msys-" + randomHex(t) + "-pty0-to-master-not",
		"msys-" + randomHex(t) + "-ptyX-to-master",
		"msys--pty0-to-master" + randomHex(t),
	} {
		if got := forTerminal(writeEnd(t, name), text); got != text {
			t.Errorf("written to the pipe %s: %q; want it as it was", name, got)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := forTerminal(w, text); got != text {
		t.Errorf("written to an anonymous pipe: %q; want it as it was", got)
	}
}

func TestPtyPipeName(t *testing.T) {
	for name, want := range map[string]bool{
		`\msys-1888ae32e00d56aa-pty0-to-master`:                  true,
		`\msys-1888ae32e00d56aa-pty3-from-master`:                true,
		`\cygwin-e022582115c10879-pty12-to-master`:               true,
		`\Device\NamedPipe\msys-1888ae32e00d56aa-pty0-to-master`: true,
		`\msys-1888ae32e00d56aa-pty0-to-slave`:                   false,
		`\msys-1888ae32e00d56aa-pty-to-master`:                   false,
		`\msys-zz-pty0-to-master`:                                false,
		`\msys-1888ae32e00d56aa-pty0-to-master-x`:                false,
		`\mingw-1888ae32e00d56aa-pty0-to-master`:                 false,
		`msys-1888ae32e00d56aa-pty0-to-master`:                   false,
		`\Win32.Pipes.00000032.00000001`:                         false,
		``:                                                       false,
	} {
		if got := ptyPipeName(name); got != want {
			t.Errorf("ptyPipeName(%q) = %v, want %v", name, got, want)
		}
	}
}
