package cli

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ipcmesh/ipcmesh"
)

// onTerminal fails if out holds a character that acts on a terminal: only
// newlines and tabs may pass.
func onTerminal(t *testing.T, out string) {
	t.Helper()
	for _, r := range out {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r)) {
			t.Fatalf("the output holds %U, which acts on a terminal:\n%q", r, out)
		}
	}
}

// FuzzPrintMessage: whatever a body holds, a message printed for a person
// is one message of its sender (its only line at the left margin is the
// first), and nothing in it acts on a terminal. So is the hooks' notice
// of it, on one line.
func FuzzPrintMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body string, large bool) {
		m := ipcmesh.Message{ID: "0123456789abcdef", From: "mallory", To: "bob", Time: time.Unix(1e9, 0),
			Content: body, Size: len(body), Large: large, Path: "/data/large-messages/x.md"}
		var b strings.Builder
		printMessage(&b, m, false)
		out := b.String()
		onTerminal(t, out)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if !strings.HasPrefix(lines[0], "[") || !strings.Contains(lines[0], "] mallory: ") {
			t.Fatalf("the first line is not mallory's message: %q", lines[0])
		}
		for _, l := range lines[1:] {
			if l != "" && !strings.HasPrefix(l, "    ") {
				t.Fatalf("a line of the body is at the left margin, where messages start: %q in\n%s", l, out)
			}
		}

		notice := mailNotice("bob", []ipcmesh.Message{m}, 1, time.Unix(1e9, 0))
		onTerminal(t, notice)
		if items := strings.Count(notice, "\n- "); items != 1 || !strings.Contains(notice, "\n- from mallory (") {
			t.Fatalf("the notice lists %d messages, want one from mallory:\n%s", items, notice)
		}
	})
}
