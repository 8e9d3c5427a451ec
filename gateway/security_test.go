package gateway

import (
	"net/http"
	"regexp"
	"testing"
	"time"

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

// The face's bounds on connections and headers are the figures
// SECURITY.md 3.10 and 4.8 give. The tests of each bound count from its
// constant, or set a smaller one to be quick: this one holds the figures.
func TestConnectionBoundsAsDocumented(t *testing.T) {
	var hs http.Server
	(&Server{}).ConfigureServer(&hs)
	if hs.ReadHeaderTimeout != 10*time.Second || hs.MaxHeaderBytes != 64<<10 {
		t.Errorf("headers within %v and %d bytes, want 10s and 64 KiB", hs.ReadHeaderTimeout, hs.MaxHeaderBytes)
	}
	if defaultMaxKeyless != 1024 {
		t.Errorf("%d connections without a valid key, want 1,024", defaultMaxKeyless)
	}
	if maxOpenPerKey != 64 {
		t.Errorf("%d requests of a key in progress, want 64", maxOpenPerKey)
	}
}

// The face has no route to the broker's stop request (SECURITY.md 3.14):
// its key holders never reach the broker's protocol, and nothing in the
// face sends the request or stops a broker.
func TestFaceCannotStopTheBroker(t *testing.T) {
	for _, name := range []string{"ipc.OpStop", "ipc.StopRequest", "election.StopBroker"} {
		uses, err := srccheck.Uses(".", name)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range uses {
			t.Errorf("%s: the face uses %s", u, name)
		}
	}
}
