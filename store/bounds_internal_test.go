package store

import "testing"

// The bounds SECURITY.md 3.10 states, as the store keeps them. The tests
// of each bound mostly count from its constant, so that a change of the
// figure would pass them all: this one holds the figures themselves.
func TestBoundsAsDocumented(t *testing.T) {
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"message body and shared value", DefaultMaxMessageBytes, 8 << 20},
		{"history page", MaxHistoryLimit, 200},
		{"search results", MaxSearchLimit, 100},
		{"search words", maxQueryWords, 16},
		{"messages and candidates a search examines", searchBudget, 20000},
		{"rename forward chain", maxHops, 16},
		{"status line", MaxStatusBytes, 200},
		{"description", MaxDescriptionBytes, 500},
	} {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d as SECURITY.md 3.10 says", c.what, c.got, c.want)
		}
	}
}
