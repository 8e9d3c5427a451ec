package ipcmesh

import "strings"

// Closest returns the candidate word most likely meant by a mistyped one,
// for a "did you mean": the nearest within edit distance 2 (shorter words
// need a closer match), else one that holds the word or that the word
// holds ("minutes" for "interval_minutes"). It returns "" when none is
// close.
func Closest(word string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if d := Distance(word, c); d < bestD && d < len(word)-1 {
			best, bestD = c, d
		}
	}
	if best != "" || len(word) < 3 {
		return best
	}
	w := strings.ToLower(word)
	for _, c := range candidates {
		if lc := strings.ToLower(c); strings.Contains(lc, w) || len(lc) >= 3 && strings.Contains(w, lc) {
			return c
		}
	}
	return ""
}
