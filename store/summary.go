package store

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/human"
)

// SummaryMax bounds a large message's summary in bytes. The summary is what
// its reader sees in every check, so it must stay a glance: enough to
// decide whether to read the file, never a page of its own.
const SummaryMax = 3072

// What a summary shows at most, within SummaryMax.
const (
	summaryHead  = 5   // first lines
	summaryNotes = 8   // lines that stand out
	summaryTail  = 3   // last lines
	summaryWidth = 160 // bytes of one shown line, when many are shown
)

// severe and mild are the words that make a line stand out, lower case,
// matched where a word begins. Severe lines are shown before mild ones:
// in a log of warnings with one failure, the failure is the news.
var (
	severe = []string{"error", "fail", "panic", "fatal", "traceback", "exception", "assert", "abort", "segmentation fault"}
	mild   = []string{"warn", "deprecat"}
)

// line is one line of a body: its number (from 1) and its text.
type line struct {
	n    int
	text string
}

// summarize describes a large body to its reader: its size and line count,
// its first lines, the lines that stand out (errors, failures, panics,
// tracebacks, then warnings) and its last lines, each numbered. It is at
// most SummaryMax bytes, valid UTF-8 whatever the body holds, and depends
// on the body alone. So 3,000 PASS lines and one FAIL show the FAIL.
func summarize(body string) string {
	var (
		total        int
		head         []line
		sev, mil     []line
		nSev, nMild  int
		tail         []line // a ring of the last summaryTail non-blank lines
		tailAt       int
		lastHeadLine int
	)
	for rest := body; rest != ""; {
		text, more, _ := strings.Cut(rest, "\n")
		rest = more
		total++
		if strings.TrimSpace(text) == "" {
			continue
		}
		l := line{n: total, text: text}
		if len(head) < summaryHead {
			head = append(head, l)
			lastHeadLine = total
			continue
		}
		plain := text
		if strings.IndexByte(text, '\x1b') >= 0 {
			plain = stripEscapes(text)
		}
		switch rank(plain) {
		case severeLine:
			nSev++
			if len(sev) < summaryNotes {
				sev = append(sev, l)
			}
		case mildLine:
			nMild++
			if len(mil) < summaryNotes {
				mil = append(mil, l)
			}
		}
		if len(tail) < summaryTail {
			tail = append(tail, l)
		} else {
			tail[tailAt] = l
			tailAt = (tailAt + 1) % len(tail)
		}
	}
	notes := append(sev, mil[:min(len(mil), summaryNotes-len(sev))]...)
	slices.SortFunc(notes, func(a, b line) int { return a.n - b.n })
	tail = append(tail[tailAt:], tail[:tailAt]...)
	tail = slices.DeleteFunc(tail, func(l line) bool {
		return l.n <= lastHeadLine || slices.ContainsFunc(notes, func(o line) bool { return o.n == l.n })
	})

	// Few lines shown may each be long: a body of one long line shows
	// much of it.
	shown := max(len(head)+len(notes)+len(tail), 1)
	width := max(summaryWidth, (SummaryMax-400)/shown)

	w := &boundedWriter{max: SummaryMax}
	w.line(fmt.Sprintf("%s, %s. First lines:", human.Size(len(body)), human.Count(total, "line")))
	w.lines(head, width)
	if len(notes) > 0 {
		if n := nSev + nMild; n > len(notes) {
			w.line(fmt.Sprintf("Lines that stand out (%d of %d):", len(notes), n))
		} else {
			w.line("Lines that stand out:")
		}
		w.lines(notes, width)
	}
	if len(tail) > 0 {
		w.line("Last lines:")
		w.lines(tail, width)
	}
	return strings.TrimSuffix(w.b.String(), "\n")
}

// Ranks of a line, by the words in it.
const (
	plainLine = iota
	mildLine
	severeLine
)

// rank says whether a word of severe or mild begins a word of text,
// ignoring case; severe wins. A capital after a small letter begins a word
// too, as in ValueError or NullPointerException.
func rank(text string) int {
	r := plainLine
	for i := 0; i < len(text); i++ {
		c := text[i] | 0x20
		if c < 'a' || c > 'z' {
			continue
		}
		if i > 0 && isWordByte(text[i-1]) && !(isUpper(text[i]) && isLower(text[i-1])) {
			continue
		}
		for _, w := range severe {
			if w[0] == c && hasPrefixFold(text[i:], w) {
				return severeLine
			}
		}
		for _, w := range mild {
			if w[0] == c && hasPrefixFold(text[i:], w) {
				r = mildLine
			}
		}
	}
	return r
}

// hasPrefixFold reports whether s begins with word, a word of lower-case
// ASCII letters and spaces, in any case.
func hasPrefixFold(s, word string) bool {
	if len(s) < len(word) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if s[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}

// isWordByte reports whether b may be part of an ASCII word; bytes of
// other letters count too, so no keyword matches inside them.
func isWordByte(b byte) bool {
	return b >= 0x80 || b == '_' || b >= '0' && b <= '9' || b|0x20 >= 'a' && b|0x20 <= 'z'
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }
func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

// stripEscapes removes a terminal's escape sequences (ESC [ ... letter,
// the colours of test output) from s.
func stripEscapes(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '\x1b')
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		s = s[i+1:]
		if s == "" || s[0] != '[' {
			continue
		}
		j := 1
		for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
			j++
		}
		s = s[min(j+1, len(s)):]
	}
}

// boundedWriter writes whole lines while they fit in max bytes, keeping
// room for the "…" that says some were left out.
type boundedWriter struct {
	b    strings.Builder
	max  int
	full bool
}

const ellipsis = "…"

func (w *boundedWriter) line(s string) {
	if w.full {
		return
	}
	if w.b.Len()+len(s)+1 > w.max-len(ellipsis) {
		w.full = true
		w.b.WriteString(ellipsis)
		return
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *boundedWriter) lines(ls []line, width int) {
	for _, l := range ls {
		w.line(fmt.Sprintf("%d: %s", l.n, clean(l.text, width)))
	}
}

// clean makes one line of a body fit to show: valid UTF-8, no control
// characters but tabs, no terminal escapes (colours), no trailing
// space, and at most width bytes, cut between characters and marked "…".
func clean(s string, width int) string {
	if strings.IndexByte(s, '\x1b') >= 0 {
		s = stripEscapes(s)
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r != '\t' && unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > width {
			return strings.TrimRight(b.String(), " \t") + ellipsis
		}
		b.WriteRune(r)
	}
	return strings.TrimRight(b.String(), " \t")
}
