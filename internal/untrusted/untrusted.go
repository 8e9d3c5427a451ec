// Package untrusted renders text another user wrote (message bodies,
// statuses, descriptions, shared content) for a terminal or a model, so
// that it can neither pass for the frame around it nor act on a terminal.
//
// Two dangers, one package: the command line and the MCP tools both show
// such text, and each would otherwise grow its own, slightly different,
// escaping. A control character is shown, not obeyed: ESC, CR and BEL
// could otherwise rewrite a terminal's line, and line or paragraph
// separators and bidirectional overrides could start a line, or reorder
// one, where a reader does not see it. A line break is kept only where a
// body may have one, and every line of a body is set off by a prefix the
// frame never starts a line with.
package untrusted

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text returns s with every character that could act on a terminal or hide
// a line break made visible: the C0 controls but newline and tab become
// their control pictures (ESC is "␛", a lone CR "␍"), the C1 controls,
// line and paragraph separators and bidirectional controls become
// "<U+XXXX>", and bytes that are not UTF-8 become U+FFFD. CRLF becomes a
// newline. Text that needs none of it is returned as it is.
func Text(s string) string {
	return render(s, false)
}

// Line is Text on one line, for a field shown in a list: a line break (CR,
// LF, CRLF, NEL, a line or paragraph separator) or a tab becomes a space.
func Line(s string) string {
	return render(s, true)
}

// Quote returns Text(s), trailing newlines dropped, with prefix before
// every line of it; an empty line gets prefix without its trailing spaces.
// A frame whose own lines never start with prefix then cannot be imitated
// by s, whatever it holds.
func Quote(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(Text(s), "\n"), "\n")
	bare := strings.TrimRight(prefix, " ")
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		if l == "" {
			b.WriteString(bare)
			continue
		}
		b.WriteString(prefix)
		b.WriteString(l)
	}
	return b.String()
}

// Control reports whether Line shows r as something else than itself: a
// control character (line breaks and tabs included), a line or paragraph
// separator, or a bidirectional control. A field meant to be one line of
// plain text may refuse them.
func Control(r rune) bool {
	return r < 0x20 || r == 0x7f || hidden(r)
}

// render is Text, or Line with oneLine.
func render(s string, oneLine bool) string {
	if clean(s, oneLine) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == '\r' && i < len(s) && s[i] == '\n':
			// CRLF: the newline that follows is the line break.
		case oneLine && lineBreak(r):
			b.WriteByte(' ')
		case !oneLine && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20:
			b.WriteRune(0x2400 + r) // the control pictures block
		case r == 0x7f:
			b.WriteRune('\u2421')
		case hidden(r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// clean reports whether render would return s unchanged.
func clean(s string, oneLine bool) bool {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return false
			}
		case r < 0x20 || r == 0x7f:
			if oneLine || r != '\n' && r != '\t' {
				return false
			}
		case r >= 0x80 && hidden(r):
			return false
		}
	}
	return true
}

// lineBreak reports whether r breaks or spaces a line: what Line makes a
// space.
func lineBreak(r rune) bool {
	switch r {
	case '\n', '\r', '\t', '\v', '\f', 0x85, 0x2028, 0x2029:
		return true
	}
	return false
}

// hidden reports whether r is a character above ASCII that acts rather than
// shows: a C1 control (0x9b is a terminal's CSI), a line or paragraph
// separator, or a bidirectional control.
func hidden(r rune) bool {
	return r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r)
}
