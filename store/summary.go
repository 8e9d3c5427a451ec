package store

import (
	"fmt"
	"math/bits"
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
	// scanLines bounds the lines walked from either end for the first and
	// last lines, so a body of blank lines costs no walk.
	scanLines = 1000
)

// severe and mild are the words that make a line stand out, matched where
// a word begins, in any case. Severe lines
// are shown before mild ones: in a log of warnings with one failure, the
// failure is the news.
var (
	severe = []string{"error", "fail", "panic", "fatal", "traceback", "exception", "assert", "abort", "segmentation fault"}
	mild   = []string{"warn", "deprecat"}
)

// Ranks of a line, by the words in it.
const (
	plainLine = iota
	mildLine
	severeLine
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
//
// It runs on every large send, so it reads the body once, looks at most
// bytes only to see that no word begins there, and keeps nothing of the
// body but the lines it shows.
func summarize(body string) string {
	total := strings.Count(body, "\n")
	if body != "" && body[len(body)-1] != '\n' {
		total++
	}
	head, rest, restLine := firstLines(body)
	notes, outstanding := notable(body, rest, restLine)
	tail := lastLines(body, total, rest, notes)

	// Few lines shown may each be long: a body of one long line shows
	// much of it.
	shown := max(len(head)+len(notes)+len(tail), 1)
	width := max(summaryWidth, (SummaryMax-400)/shown)

	w := &boundedWriter{max: SummaryMax}
	w.line(fmt.Sprintf("%s, %s. First lines:", human.Size(len(body)), human.Count(total, "line")))
	w.lines(head, width)
	if len(notes) > 0 {
		if outstanding > len(notes) {
			w.line(fmt.Sprintf("Lines that stand out (%d of %d):", len(notes), outstanding))
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

// firstLines returns the first summaryHead non-blank lines of body, the
// offset of the line after them and that line's number.
func firstLines(body string) (head []line, rest, restLine int) {
	n := 1
	for ; rest < len(body) && len(head) < summaryHead && n <= scanLines; n++ {
		text, _, _ := strings.Cut(body[rest:], "\n")
		if strings.TrimSpace(text) != "" {
			head = append(head, line{n: n, text: text})
		}
		rest += len(text) + 1
	}
	return head, min(rest, len(body)), n
}

// lastLines returns those of the last summaryTail non-blank lines of body
// from offset rest on that are not among notes already, oldest first.
func lastLines(body string, total, rest int, notes []line) []line {
	var tail []line
	end, n := len(body), total
	if strings.HasSuffix(body, "\n") {
		end--
	}
	for i, seen := 0, 0; end >= rest && seen < summaryTail && i < scanLines; i++ {
		start := strings.LastIndexByte(body[:end], '\n') + 1
		if start < rest {
			break
		}
		if text := body[start:end]; strings.TrimSpace(text) != "" {
			seen++
			if !slices.ContainsFunc(notes, func(l line) bool { return l.n == n }) {
				tail = append(tail, line{n: n, text: text})
			}
		}
		n, end = n-1, start-1
	}
	slices.Reverse(tail)
	return tail
}

// notable returns the lines from offset rest (line restLine) on that stand
// out, at most summaryNotes of them, severe ones first and then in order,
// and how many stand out in all.
func notable(body string, rest, restLine int) ([]line, int) {
	// first maps a byte, either case, to the words that begin with it, a
	// bit each: most bytes of a body begin none and cost one look.
	words := append(slices.Clip(severe), mild...)
	var first [256]uint32
	for k, w := range words {
		first[w[0]] |= 1 << k
		first[w[0]&^0x20] |= 1 << k
	}
	var (
		sev, mil []line
		all      int
		n, start = restLine, rest
		rank     = plainLine
	)
	// flush keeps the line from start to end as its rank says.
	flush := func(end int) {
		switch rank {
		case severeLine:
			all++
			if len(sev) < summaryNotes {
				sev = append(sev, line{n: n, text: body[start:end]})
			}
		case mildLine:
			all++
			if len(mil) < summaryNotes {
				mil = append(mil, line{n: n, text: body[start:end]})
			}
		}
	}
	for i := rest; i < len(body); i++ {
		c := body[i]
		if c == '\n' {
			flush(i)
			n, start, rank = n+1, i+1, plainLine
			continue
		}
		m := first[c]
		if m == 0 || !wordStart(body, i) {
			continue
		}
		for ; m != 0; m &= m - 1 {
			k := bits.TrailingZeros32(m)
			if !hasPrefixFold(body[i:], words[k]) {
				continue
			}
			if k < len(severe) {
				rank = severeLine
				break
			}
			rank = max(rank, mildLine)
		}
		if rank == severeLine {
			// Nothing more in the line can change it: go on from its end.
			j := strings.IndexByte(body[i:], '\n')
			if j < 0 {
				break
			}
			i += j - 1
		}
	}
	if start < len(body) {
		flush(len(body))
	}
	notes := append(sev, mil[:min(len(mil), summaryNotes-len(sev))]...)
	slices.SortFunc(notes, func(a, b line) int { return a.n - b.n })
	return notes, all
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

// wordStart reports whether a word begins at s[p]: after a byte that is no
// part of a word, at a capital after a small letter (ValueError,
// NullPointerException), or after a terminal colour code.
func wordStart(s string, p int) bool {
	if p == 0 {
		return true
	}
	prev := s[p-1]
	switch {
	case !isWordByte(prev):
		return true
	case isUpper(s[p]) && isLower(prev):
		return true
	case prev == 'm':
		return afterEscape(s[:p])
	}
	return false
}

// afterEscape reports whether s ends with a colour code: ESC [, digits and
// semicolons, m.
func afterEscape(s string) bool {
	i := len(s) - 2
	for i >= 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == ';') {
		i--
	}
	return i >= 1 && s[i] == '[' && s[i-1] == '\x1b'
}

// isWordByte reports whether b may be part of an ASCII word; bytes of
// other letters count too, so no keyword matches inside them.
func isWordByte(b byte) bool {
	return b >= 0x80 || b == '_' || b >= '0' && b <= '9' || b|0x20 >= 'a' && b|0x20 <= 'z'
}

func isUpper(b byte) bool { return b >= 'A' && b <= 'Z' }
func isLower(b byte) bool { return b >= 'a' && b <= 'z' }

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
// characters but tabs, no terminal escapes (colours), no trailing space,
// and at most width bytes, cut between characters and marked "…".
func clean(s string, width int) string {
	// Only a line's start can be shown: cleaning the rest of a long one
	// would cost a copy of it.
	cut := false
	if limit := 4*width + 64; len(s) > limit {
		for limit > 0 && !utf8.RuneStart(s[limit]) {
			limit--
		}
		s, cut = s[:limit], true
	}
	if strings.IndexByte(s, '\x1b') >= 0 {
		s = stripEscapes(s)
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if r != '\t' && unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > width {
			cut = true
			break
		}
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), " \t")
	if cut {
		out += ellipsis
	}
	return out
}

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
