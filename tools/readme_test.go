package tools_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The README's table of MCP tools has a row for each tool the server
// lists and none for a tool it does not, and the count it gives in words
// is theirs. wantTools is checked against the server's tools/list.
func TestREADMEToolTableHasEveryTool(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	_, sec, ok := strings.Cut(readme, "\n## Assistants (MCP)\n")
	if !ok {
		t.Fatal("README.md has no section Assistants (MCP)")
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	sec, _, _ = strings.Cut(sec, "\n### ")
	var table []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(sec, -1) {
		table = append(table, m[1])
	}
	slices.Sort(table)
	if !slices.Equal(table, wantTools) {
		t.Errorf("README's tool table has %v, the server lists %v", table, wantTools)
	}
	words := []string{"", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"}
	if n := len(wantTools); n >= len(words) {
		t.Fatalf("%d tools: no word for the count", n)
	} else if want := "an MCP server with " + words[n] + " tools"; !strings.Contains(readme, want) {
		t.Errorf("README does not say %q", want)
	}
}
