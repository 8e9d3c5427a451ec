//go:build windows

package cli

import (
	"os"
	"strings"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"
)

// isTerminal reports whether f is a terminal: a console, or the pseudo
// terminal of a Cygwin or MSYS2 terminal emulator. Git Bash's window,
// mintty, is one of those, and it hands a native program no console but a
// named pipe to write to, which interprets escape sequences all the same:
// a pipe is taken for a terminal when it is named as those pipes are.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	if fi.Mode()&os.ModeCharDevice != 0 {
		return true
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		return false
	}
	name, err := handleName(windows.Handle(f.Fd()))
	return err == nil && ptyPipeName(name)
}

// handleName is the name of the file h is open on, as the system gives
// it: for a named pipe, its name on the pipe file system
// (\msys-1888ae32e00d56aa-pty0-to-master).
func handleName(h windows.Handle) (string, error) {
	// FILE_NAME_INFO: the name's length in bytes, then the name in UTF-16.
	// A longer name than MAX_PATH is an error (ERROR_MORE_DATA), and no
	// terminal's pipe has one.
	buf := make([]uint16, 2+windows.MAX_PATH)
	size := uint32(len(buf) * 2)
	if err := windows.GetFileInformationByHandleEx(h, windows.FileNameInfo, (*byte)(unsafe.Pointer(&buf[0])), size); err != nil {
		return "", err
	}
	n := *(*uint32)(unsafe.Pointer(&buf[0])) / 2
	if n > uint32(len(buf)-2) {
		n = uint32(len(buf) - 2)
	}
	return string(utf16.Decode(buf[2 : 2+n])), nil
}

// ptyPipeName reports whether name is that of a pipe of a Cygwin or MSYS2
// pseudo terminal: \msys-ID-ptyN-to-master or -from-master (cygwin- for
// Cygwin's), where ID is the installation's hex key and N the terminal's
// number, with the device's prefix or without.
func ptyPipeName(name string) bool {
	name = strings.TrimPrefix(name, `\Device\NamedPipe`)
	rest, ok := strings.CutPrefix(name, `\msys-`)
	if !ok {
		rest, ok = strings.CutPrefix(name, `\cygwin-`)
	}
	if !ok {
		return false
	}
	id, rest, ok := strings.Cut(rest, "-pty")
	if !ok || id == "" || strings.Trim(id, "0123456789abcdefABCDEF") != "" {
		return false
	}
	num, dir, ok := strings.Cut(rest, "-")
	if !ok || num == "" || strings.Trim(num, "0123456789") != "" {
		return false
	}
	return dir == "to-master" || dir == "from-master"
}
