package gateway

import (
	"regexp"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/srccheck"
)

// A key the face has seen is compared with the bytes a request brings in
// constant time (SECURITY.md 4.8), as its tag is by the broker: a
// comparison that stops at the first byte that differs tells a guesser,
// by its time, how much of a guess was right.
func TestKeysComparedInConstantTime(t *testing.T) {
	calls, err := srccheck.Calls(".", "knownKey.is", "subtle.ConstantTimeCompare")
	if err != nil {
		t.Fatal(err)
	}
	if !calls {
		t.Error("knownKey.is does not compare with subtle.ConstantTimeCompare")
	}
	leaks, err := srccheck.VariableTime(".", regexp.MustCompile(`^(key|Key|tag)$`))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Errorf("%s: a key compared in variable time; use subtle.ConstantTimeCompare", l)
	}
}
