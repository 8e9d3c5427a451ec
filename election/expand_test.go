package election

import (
	"strings"
	"testing"
)

// FuzzExpandVars checks expandVars against what it promises for any
// IPC_DATA_DIR: text with no "$" or "%" comes back as it is; a reference
// is replaced by its value, so with every variable set to "" the value
// is refused, never shortened to a path at the root; and with every
// variable set to "V" nothing of a reference is left but the characters
// that start none. The seeds are in testdata/fuzz/FuzzExpandVars.
func FuzzExpandVars(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, percent bool) {
		out, err := expandVars(s, func(string) string { return "V" }, percent)
		if err != nil {
			t.Fatalf("expandVars(%q) with every variable set: %v", s, err)
		}
		if !strings.ContainsAny(s, "$%") && out != s {
			t.Fatalf("expandVars(%q) = %q; want it unchanged", s, out)
		}
		if len(out) > len(s) {
			t.Fatalf("expandVars(%q) = %q: a one-letter value made it longer", s, out)
		}
		empty, err := expandVars(s, func(string) string { return "" }, percent)
		if err == nil && empty != s {
			t.Fatalf("expandVars(%q) with every variable empty = %q, no error; want an error or the text as it is", s, empty)
		}
	})
}
