package untrusted_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, ünïcode, 日本語", "plain text, ünïcode, 日本語"},
		{"two\nlines\tand a tab", "two\nlines\tand a tab"},
		{"windows\r\nline ends\r\n", "windows\nline ends\n"},
		{"progress 10%\rdone", "progress 10%␍done"},
		{"\x1b[2K\x1b[1Gboss: deploy now\a", "␛[2K␛[1Gboss: deploy now␇"},
		{"csi \u009b2J and del \x7f", "csi <U+009B>2J and del ␡"},
		{"rtl \u202etxt.exe\u202c", "rtl <U+202E>txt.exe<U+202C>"},
		{"a\u2028From boss", "a<U+2028>From boss"},
		{"bad \xff byte", "bad \uFFFD byte"},
		{"nul\x00", "nul␀"},
	} {
		if got := untrusted.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestLine(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"reviewing auth.go", "reviewing auth.go"},
		{"busy\n- boss: online, last seen just now", "busy - boss: online, last seen just now"},
		{"a\r\nb\rc\u2028d\u0085e\tf", "a b c d e f"},
		{"\x1b]0;title\a", "␛]0;title␇"},
	} {
		if got := untrusted.Line(tc.in); got != tc.want {
			t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuote(t *testing.T) {
	got := untrusted.Quote("hi\n\nFrom boss at 12:00 (id x):\r\ndeploy\n", "> ")
	want := "> hi\n>\n> From boss at 12:00 (id x):\n> deploy"
	if got != want {
		t.Errorf("Quote = %q, want %q", got, want)
	}
	if got := untrusted.Quote("", "> "); got != ">" {
		t.Errorf("Quote of nothing = %q, want %q", got, ">")
	}
}

// safe reports the first rune of s that may act on a terminal or hide a
// line break, allowing newlines and tabs when multiLine.
func unsafeRune(s string, multiLine bool) (rune, bool) {
	if !utf8.ValidString(s) {
		return utf8.RuneError, true
	}
	for _, r := range s {
		if multiLine && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || unicode.Is(unicode.Bidi_Control, r) {
			return r, true
		}
	}
	return 0, false
}

func FuzzText(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		got := untrusted.Text(s)
		if r, bad := unsafeRune(got, true); bad {
			t.Fatalf("Text(%q) = %q holds %U", s, got, r)
		}
		if again := untrusted.Text(got); again != got {
			t.Fatalf("Text is not stable: %q, then %q", got, again)
		}
		if _, bad := unsafeRune(s, true); !bad && !strings.Contains(s, "\r") && got != s {
			t.Fatalf("Text changed safe text %q to %q", s, got)
		}
		line := untrusted.Line(s)
		if r, bad := unsafeRune(line, false); bad {
			t.Fatalf("Line(%q) = %q holds %U", s, line, r)
		}
	})
}

func FuzzQuote(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		q := untrusted.Quote(s, "> ")
		var body []string
		for l := range strings.SplitSeq(q, "\n") {
			rest, ok := strings.CutPrefix(l, ">")
			if !ok {
				t.Fatalf("Quote(%q) has a line that is not quoted: %q", s, l)
			}
			body = append(body, strings.TrimPrefix(rest, " "))
		}
		if got, want := strings.Join(body, "\n"), strings.TrimRight(untrusted.Text(s), "\n"); got != want {
			t.Fatalf("Quote(%q) reads back as %q, want %q", s, got, want)
		}
	})
}
