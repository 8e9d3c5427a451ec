package textpage

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A page starts at the start of the character its offset falls in, and
// ends before a character that would pass its size.
func TestPagesCutBetweenCharacters(t *testing.T) {
	text := "aé€😀b" // characters of 1, 2, 3, 4 and 1 bytes: starts at 0, 1, 3, 6, 10
	for _, tc := range []struct{ offset, start int }{
		{0, 0}, {1, 1}, {2, 1}, {3, 3}, {4, 3}, {5, 3}, {6, 6}, {9, 6}, {10, 10}, {11, 11}, {12, 12},
	} {
		if got := Start(text, tc.offset); got != tc.start {
			t.Errorf("Start(%q, %d) = %d, want %d", text, tc.offset, got, tc.start)
		}
	}
	for _, tc := range []struct{ offset, max, end int }{
		{0, 1, 1}, {0, 2, 1}, {0, 3, 3}, {1, 4, 3}, {3, 3, 6}, {3, 6, 6}, {3, 7, 10}, {6, 3, 6}, {6, 100, 11}, {11, 5, 11},
	} {
		if got := End(text, tc.offset, tc.max); got != tc.end {
			t.Errorf("End(%q, %d, %d) = %d, want %d", text, tc.offset, tc.max, got, tc.end)
		}
	}
}

// Read page by page, each from where the last one ended, a text comes
// back whole, each page valid UTF-8.
func TestPagesReadTheWholeText(t *testing.T) {
	text := strings.Repeat("x€😀é", 1000)
	var b strings.Builder
	for offset := 0; offset < len(text); {
		start := Start(text, offset)
		end := End(text, start, 1000)
		if end <= start || !utf8.ValidString(text[start:end]) {
			t.Fatalf("the page at %d is bytes %d to %d", offset, start, end)
		}
		b.WriteString(text[start:end])
		offset = end
	}
	if b.String() != text {
		t.Fatal("the pages do not make the text")
	}
}
