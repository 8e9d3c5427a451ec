package ipcmesh

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzName checks the name rules on arbitrary pairs of strings: what
// ValidateName accepts is 1-32 of [A-Za-z0-9_-], its file name is one no
// other name's is in any case and never a device of Windows, and the
// refusal is one line; NormalizeChannel gives a channel name it gives
// back unchanged.
func FuzzName(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzName.
	f.Fuzz(func(t *testing.T, a, b string) {
		checkName(t, a)
		checkName(t, b)
		if a != b && ValidateName(a) == nil && ValidateName(b) == nil &&
			strings.EqualFold(FileName(a), FileName(b)) {
			t.Fatalf("FileName(%q) = %q and FileName(%q) = %q meet on a file system that ignores case", a, FileName(a), b, FileName(b))
		}
		checkChannel(t, a)
	})
}

func checkName(t *testing.T, name string) {
	t.Helper()
	err := ValidateName(name)
	plain := len(name) >= 1 && len(name) <= MaxNameLen && strings.Trim(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
	if (err == nil) != plain {
		t.Fatalf("ValidateName(%q) = %v", name, err)
	}
	if err != nil {
		oneLine(t, err)
		if CodeOf(err) != CodeInvalidName {
			t.Fatalf("ValidateName(%q) has code %q, want %q", name, CodeOf(err), CodeInvalidName)
		}
		return
	}
	fn := FileName(name)
	if IsWindowsDevice(fn) || strings.Trim(fn, "abcdefghijklmnopqrstuvwxyz0123456789_-^~") != "" {
		t.Fatalf("FileName(%q) = %q", name, fn)
	}
}

func checkChannel(t *testing.T, s string) {
	t.Helper()
	ch, err := NormalizeChannel(s)
	if err != nil {
		oneLine(t, err)
		return
	}
	if len(ch) < 1 || len(ch) > MaxNameLen || strings.Trim(ch, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		t.Fatalf("NormalizeChannel(%q) = %q", s, ch)
	}
	if again, err := NormalizeChannel(ch); err != nil || again != ch {
		t.Fatalf("NormalizeChannel(%q) = %q, which normalises to %q, %v", s, ch, again, err)
	}
}

// oneLine fails t if err's message could break the line it is shown on.
func oneLine(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x1b") {
		t.Fatalf("error %q is not one line of text", msg)
	}
}
