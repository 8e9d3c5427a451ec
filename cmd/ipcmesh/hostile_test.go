package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ipcmesh/ipcmesh"
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

// --json output is read on terminals too: encoding/json escapes ESC and
// BEL, but another instance's C1 controls (U+009B is a terminal's CSI),
// separators and bidirectional controls must come out escaped as well,
// and decode to what was sent.
func TestHostileJSONOnATerminal(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("register", "mallory")
	const hostile = forged + " \u009b2J\u0085\u2066x\u2069"
	m.mustRun("send", "--as", "mallory", "bob", hostile)
	m.mustRun("set-status", "reviewing", "--description", hostile, "--as", "mallory")
	m.runIn(hostile, "share", "plan", "--description", hostile, "--as", "mallory")
	for _, args := range [][]string{
		{"history", "--with", "mallory", "--as", "bob", "--json"},
		{"search", "deploy", "--as", "bob", "--json"},
		{"list", "--json"},
		{"shared", "--json"},
		{"get", "plan", "--json"},
		{"check", "--as", "bob", "--json"},
	} {
		out := m.mustRun(args...).stdout
		terminalSafe(t, args[0]+" --json", out)
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("%s --json printed what is not JSON (%v): %q", args[0], err, out)
		}
		if !holdsString(v, hostile) {
			t.Errorf("%s --json lost the text sent: %q", args[0], out)
		}
	}

	m.mustRun("send", "--as", "mallory", "bob", hostile)
	w := m.start(nil, "watch", "--json", "--as", "bob")
	line := w.waitLine(w.stdout, "mallory", 30*time.Second)
	w.interrupt()
	terminalSafe(t, "watch --json", line)
	var got ipcmesh.Message
	if err := json.Unmarshal([]byte(line), &got); err != nil || got.Content != hostile {
		t.Errorf("watch --json printed %q: content %q (%v), want %q", line, got.Content, err, hostile)
	}
}

// holdsString reports whether s is one of the strings of the decoded JSON
// value v.
func holdsString(v any, s string) bool {
	switch t := v.(type) {
	case string:
		return t == s
	case []any:
		return slices.ContainsFunc(t, func(e any) bool { return holdsString(e, s) })
	case map[string]any:
		for _, e := range t {
			if holdsString(e, s) {
				return true
			}
		}
	}
	return false
}
