package election

import (
	"strings"
	"testing"
)

// The advice for a broker that does not answer or will not stop speaks
// the words of the user's system: a Windows user has no kill, fg or
// Ctrl-Z to stop a process with, and ends one with taskkill.
func TestAdviceForAStuckBrokerFitsTheSystem(t *testing.T) {
	for _, tc := range []struct {
		goos      string
		want, not []string
	}{
		{"windows", []string{"taskkill /PID 4242 /F"}, []string{"kill -", "kill 4242", "fg", "Ctrl-Z"}},
		{"linux", []string{"kill -CONT 4242", "kill -9 4242"}, []string{"taskkill", "kill 4242"}},
		{"darwin", []string{"kill -CONT 4242", "kill -9 4242"}, []string{"taskkill", "kill 4242"}},
	} {
		advice := unstickAdvice(tc.goos, 4242) + "\n" + forceAdvice(tc.goos, 4242)
		for _, w := range tc.want {
			if !strings.Contains(advice, w) {
				t.Errorf("%s: the advice %q does not say %q", tc.goos, advice, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(advice, n) {
				t.Errorf("%s: the advice %q says %q", tc.goos, advice, n)
			}
		}
	}
}
