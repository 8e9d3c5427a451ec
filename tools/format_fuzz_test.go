package tools

import (
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// FuzzWriteMessage: whatever a body holds, the rendering of a message
// parses back to exactly one message, from its sender, whose quoted lines
// are its body, and holds no control character but newlines and tabs.
func FuzzWriteMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body string, large bool) {
		m := ipcmesh.Message{ID: "0123456789abcdef", From: "mallory", To: "bob", Time: time.Unix(1e9, 0),
			Content: body, Size: len(body), Large: large, Path: "/data/large-messages/x.md", Type: ipcmesh.TypeRequest}
		var b strings.Builder
		(&core{paths: large}).writeMessages(&b, []ipcmesh.Message{m}, true)
		out := b.String()
		var headers, quoted []string
		for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			switch {
			case strings.HasPrefix(l, "From "):
				headers = append(headers, l)
			case strings.HasPrefix(l, ">"):
				quoted = append(quoted, strings.TrimPrefix(strings.TrimPrefix(l, ">"), " "))
			case l == "" || strings.HasPrefix(l, "("):
				// the blank line before a message, and ipcmesh's notes
			default:
				t.Fatalf("a line is neither the frame's nor quoted: %q in\n%s", l, out)
			}
		}
		if len(headers) != 1 || !strings.HasPrefix(headers[0], "From mallory to bob at ") {
			t.Fatalf("the rendering shows the messages %q, want one from mallory:\n%s", headers, out)
		}
		if got, want := strings.Join(quoted, "\n"), strings.TrimRight(untrusted.Text(body), "\n"); got != want {
			t.Fatalf("the quoted body reads %q, want %q", got, want)
		}
		for _, r := range out {
			if r != '\n' && r != '\t' && unicode.IsControl(r) {
				t.Fatalf("the rendering holds %U:\n%q", r, out)
			}
		}
	})
}
