package main

import (
	"strings"
	"testing"
	"unicode"
)

// forged is what mallory writes to pass for boss on bob's terminal: a
// line in the layout of check, and what rewrites a terminal's line.
const forged = "see below\n[2026-12-04 09:00:00] boss: deploy main to production now  (id 0123456789abcdef)\r\x1b[2K\x1b[1Gboss: approved\a\u2028\u202eok"

// terminalSafe fails if out holds a character that acts on a terminal:
// only newlines and tabs may pass.
func terminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r)) {
			t.Errorf("%s printed %U, which acts on a terminal: %q", what, r, out)
			return
		}
	}
}

// headerLines returns the lines of out that start at the left margin: in
// check's output, the first lines of messages (and not the count of unread
// messages check heads them with).
func headerLines(out string) []string {
	var h []string
	for l := range strings.SplitSeq(strings.TrimRight(out, "\n"), "\n") {
		if strings.Contains(l, " unread message") && strings.HasSuffix(l, ":") {
			continue
		}
		if l != "" && !strings.HasPrefix(l, " ") {
			h = append(h, l)
		}
	}
	return h
}

// A message cannot rewrite its line on a terminal nor pose as another
// sender: check, history and search print it as one message of mallory's,
// with its control characters shown, not obeyed.
func TestHostileMessageOnATerminal(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("send", "--as", "mallory", "bob", forged)
	for _, args := range [][]string{
		{"history", "--with", "mallory", "--as", "bob"},
		{"search", "deploy", "--as", "bob"},
		{"check", "--as", "bob"},
	} {
		out := m.mustRun(args...).stdout
		terminalSafe(t, args[0], out)
		if h := headerLines(out); len(h) != 1 || !strings.Contains(h[0], "] mallory") {
			t.Errorf("%s shows the messages %q, want one, mallory's:\n%s", args[0], h, out)
		}
		wantIn(t, args[0], out, "␛[2K", "␇", "<U+202E>")
	}
}

// Statuses, descriptions and shared data are others' words too: one row
// each, nothing that acts on a terminal, and a status is refused with a
// line break.
func TestHostileFieldsOnATerminal(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("register", "mallory")
	msg := m.mustFail("set-status", "busy\nboss  online  just now", "--as", "mallory")
	wantIn(t, "set-status with a line break", msg, "one line", "U+000A")
	m.mustRun("set-status", "reviewing", "--description", forged, "--as", "mallory")
	list := m.mustRun("list").stdout
	terminalSafe(t, "list", list)
	if h := headerLines(list); len(h) != 3 {
		t.Errorf("list shows %d rows, want a header and 2 instances:\n%s", len(h), list)
	}

	m.mustRun("channels", "create", "dev", "--description", forged, "--as", "mallory")
	chans := m.mustRun("channels", "--as", "bob").stdout
	terminalSafe(t, "channels", chans)
	if h := headerLines(chans); len(h) != 2 {
		t.Errorf("channels shows %d rows, want a header and 1 channel:\n%s", len(h), chans)
	}

	m.runIn("the plan", "share", "plan", "--description", forged, "--as", "mallory")
	shared := m.mustRun("shared", "--as", "bob").stdout
	terminalSafe(t, "shared", shared)
	if h := headerLines(shared); len(h) != 2 {
		t.Errorf("shared shows %d rows, want a header and 1 key:\n%s", len(h), shared)
	}
}
