package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The mesh carries text. Content that is not UTF-8 (a binary file shared,
// a Latin-1 file sent from stdin) is refused, naming the byte and what to
// do, and saying that nothing was shared or sent: before, its bytes
// arrived replaced by U+FFFD and `get` gave back another file than the
// one shared, after an "ok". UTF-8 text of every script still goes
// through byte for byte.
func TestContentNotUTF8Refused(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	m.mustRun("register", "builder")

	binary := filepath.Join(t.TempDir(), "build.tar")
	if err := os.WriteFile(binary, []byte("ustar\x00\x00\xff\xfe\x80 and more"), 0o600); err != nil {
		t.Fatal(err)
	}
	msg := m.mustFail("share", "build", binary)
	for _, want := range []string{"not UTF-8", "byte 8 is 0xFF", "base64", "Nothing was shared"} {
		if !strings.Contains(msg, want) {
			t.Errorf("share of a binary file: %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "was sent") {
		t.Errorf("share of a binary file: %q speaks of sending", msg)
	}
	if r := m.run("get", "build"); r.code == 0 {
		t.Errorf("get after the refused share found something: %s", r)
	}

	latin1 := "caf\xe9 au lait\n"
	for _, args := range [][]string{{"send", "reviewer", "-"}, {"broadcast", "-"}} {
		r := m.runIn(latin1, args...)
		if msg := oneLineError(t, r, args[0]); !strings.Contains(msg, "not UTF-8") || !strings.Contains(msg, "byte 4 is 0xE9") || !strings.Contains(msg, "Nothing was sent") {
			t.Errorf("%s of Latin-1 text: %q, want it refused naming byte 4", args[0], msg)
		}
	}
	if got := m.check("--as", "reviewer").Messages; len(got) != 0 {
		t.Errorf("reviewer got %d messages after the refusals, want none: %+v", len(got), got)
	}

	text := "café, Straße, 日本語, emoji 🚀\r\n\ttabbed\n"
	m.mustRun("send", "reviewer", text)
	textFile := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(textFile, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	m.mustRun("share", "notes", textFile)
	if got := m.check("--as", "reviewer").Messages; len(got) != 1 || got[0].Content != text {
		t.Errorf("UTF-8 text arrived as %+v, want %q", got, text)
	}
	if r := m.mustRun("get", "notes"); r.stdout != text {
		t.Errorf("get gave back %q, want the file as shared, %q", r.stdout, text)
	}
}
