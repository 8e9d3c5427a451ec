package store

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSummaryShowsWhatStandsOut(t *testing.T) {
	var b strings.Builder
	for i := 1; i <= 3000; i++ {
		if i == 2841 {
			b.WriteString("--- FAIL: test_x (0.01s): want 3, got 4\n")
			continue
		}
		fmt.Fprintf(&b, "PASS test_%04d\n", i)
	}
	b.WriteString("FAIL\tgithub.com/x/y\t1.2s\n")
	got := summarize(b.String())
	for _, want := range []string{
		"44.0 KiB, 3001 lines. First lines:\n1: PASS test_0001\n",
		"5: PASS test_0005\nLines that stand out:\n2841: --- FAIL: test_x (0.01s): want 3, got 4\n3001: FAIL\tgithub.com/x/y\t1.2s\nLast lines:\n2999: PASS test_2999\n3000: PASS test_3000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "6: PASS") {
		t.Errorf("summary shows more than the first 5 lines:\n%s", got)
	}
}

func TestSummarySeverePassesWarnings(t *testing.T) {
	var b strings.Builder
	b.WriteString("build log\n\n\n\n\n")
	for i := 0; i < 50; i++ {
		b.WriteString("warning: unused variable\n")
	}
	b.WriteString("panic: runtime error: index out of range [3] with length 3\n")
	b.WriteString("\x1b[31mTraceback (most recent call last):\x1b[0m\r\n")
	b.WriteString("ValueError: bad\n")
	b.WriteString("wrapped errors in a failover are fine\n") // "fail" is no word start here
	got := summarize(b.String())
	for _, want := range []string{
		"Lines that stand out (8 of 50):\n10: warning: unused variable\n",
		"\n13: warning: unused variable\n56: panic: runtime error",
		"\n57: Traceback (most recent call last):\n",
		"\n58: ValueError: bad\n",
		"\n59: wrapped errors", // "errors" begins a word
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "warning: unused"); n != 8 || strings.Contains(got, "Last lines") {
		t.Errorf("summary shows %d warnings, want 4 first lines and the 4 the errors leave room for, and no last lines but those shown:\n%s", n, got)
	}
}

func TestSummaryOfOneLongLine(t *testing.T) {
	body := strings.Repeat("é", 20000) // no newline at all
	got := summarize(body)
	if !utf8.ValidString(got) || len(got) > SummaryMax || len(got) < SummaryMax/2 {
		t.Fatalf("summary of one long line: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if !strings.HasPrefix(got, "39.1 KiB, 1 line. First lines:\n1: ééé") || !strings.HasSuffix(got, "é…") {
		t.Errorf("summary of one long line: %q...%q", got[:40], got[len(got)-20:])
	}
}

func TestSummaryOfBadBytes(t *testing.T) {
	body := "ok\n\xff\xfe broken \xc3\n" + strings.Repeat("x", 100)
	got := summarize(body)
	if !utf8.ValidString(got) || !strings.Contains(got, "2: \uFFFD broken \uFFFD\n") {
		t.Errorf("summary of invalid UTF-8: %q", got)
	}
}

// FuzzSummarize: whatever a sender sends, its summary is bounded, valid
// UTF-8 and the same every time.
func FuzzSummarize(f *testing.F) {
	f.Add("PASS a\nFAIL b\n")
	f.Add(strings.Repeat("error é\n", 2000))
	f.Add(strings.Repeat("\xff", 5000))
	f.Fuzz(func(t *testing.T, body string) {
		got := summarize(body)
		if len(got) > SummaryMax {
			t.Fatalf("summary is %d bytes, over %d", len(got), SummaryMax)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("summary is not valid UTF-8: %q", got)
		}
		if again := summarize(body); again != got {
			t.Fatalf("summary differs between two calls:\n%q\n%q", got, again)
		}
	})
}

// BenchmarkSummarize is the cost a large send pays before its commit, for
// a body at the 8 MiB limit: a test log of short lines.
func BenchmarkSummarize(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 8<<20-64; i++ {
		fmt.Fprintf(&sb, "--- PASS: TestCase%d (0.00s)\n", i)
	}
	body := sb.String()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		summarize(body)
	}
}
