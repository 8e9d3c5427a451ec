package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
)

// printJSON writes v as indented JSON, with what could act on a terminal
// escaped (jsonEscapeHidden): --json output is read on terminals too.
func printJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonEscapeHidden(b.Bytes()))
	return err
}

// jsonEscapeHidden returns the JSON text b with the characters above ASCII
// that act on a terminal (C1 controls such as U+009B, a terminal's CSI;
// line and paragraph separators; bidirectional controls) written as \uXXXX
// escapes. encoding/json escapes the C0 controls, ESC and BEL among them,
// but writes these as they are, so another instance's message read with
// --json on a terminal could still move its cursor or reorder its line.
// Such characters only occur inside JSON strings, where the escape decodes
// to the same text.
func jsonEscapeHidden(b []byte) []byte {
	var out []byte // nil until b needs an escape: most output needs none
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case hiddenRune(r):
			if out == nil {
				out = append(make([]byte, 0, len(b)+16), b[:i]...)
			}
			out = fmt.Appendf(out, `\u%04x`, r)
		case out != nil:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	if out == nil {
		return b
	}
	return out
}

// hiddenRune reports whether r is above ASCII and acts on a terminal
// rather than shows (untrusted.Control).
func hiddenRune(r rune) bool {
	return r >= 0x80 && r != utf8.RuneError && untrusted.Control(r)
}

// printMessage writes one message for a person: when, who (and where: a
// channel, or with showTo the recipient), what kind, what, and for a large
// one where the whole body is and how to get it. Its id closes the first
// line, for --reply-to and history --thread. The body is another user's
// text: what could act on a terminal is shown instead (untrusted.Text), and
// its lines after the first are indented, so none of them can pass for the
// first line of a message.
func printMessage(w io.Writer, m ipcmesh.Message, showTo bool) {
	from := human.Sender(m, showTo)
	var tags []string
	if m.Type != "" && m.Type != ipcmesh.TypeMessage {
		tags = append(tags, m.Type)
	}
	if m.ReplyTo != "" {
		tags = append(tags, "re "+m.ReplyTo)
	}
	if m.Shared != "" {
		tags = append(tags, "shared "+m.Shared)
	}
	if len(tags) > 0 {
		from += " [" + strings.Join(tags, ", ") + "]"
	}
	fmt.Fprintf(w, "[%s] %s: ", m.Time.Local().Format("2006-01-02 15:04:05"), from)
	if m.Large {
		fmt.Fprintf(w, "%s\n    (large message %s, %s: the whole text is in %s; or run: ipcmesh fetch %s)\n", indent(m.Content), m.ID, human.Size(m.Size), m.Path, m.ID)
		return
	}
	fmt.Fprintf(w, "%s  (id %s)\n", indent(m.Content), m.ID)
}

// indent keeps a multi-line body readable under its header line, and set
// apart from it.
func indent(s string) string {
	return strings.ReplaceAll(strings.TrimRight(untrusted.Text(s), "\n"), "\n", "\n    ")
}

// forTerminal is s as it may be written to w: with what could act on a
// terminal shown instead (untrusted.Text) when w is one, and as it is
// otherwise, so that output redirected to a file gives back what was
// stored.
func forTerminal(w io.Writer, s string) string {
	if f, ok := w.(*os.File); ok && isTerminal(f) {
		return untrusted.Text(s)
	}
	return s
}
