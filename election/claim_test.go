package election

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// A claim of the port holds the peers back only while its process lives
// and for claimTTL: a claimant that died or hangs must not leave the mesh
// without a broker.
func TestClaimHoldsPeersBackOnlyWhileFresh(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{DataDir: dir}
	other := os.Getppid()
	start, err := proc.Started(other)
	if err != nil {
		t.Skipf("no start mark for pid %d here: %v", other, err)
	}
	write := func(c portClaim) {
		t.Helper()
		b, _ := json.Marshal(c)
		if err := os.WriteFile(filepath.Join(dir, claimFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if claimedByOther(cfg) {
		t.Error("a folder with no claim is taken for claimed")
	}
	for _, c := range []struct {
		what  string
		claim portClaim
		want  bool
	}{
		{"a fresh claim of another live process", portClaim{PID: other, Start: start, Made: time.Now()}, true},
		{"a claim older than claimTTL", portClaim{PID: other, Start: start, Made: time.Now().Add(-claimTTL - time.Second)}, false},
		{"a claim of a process gone, its pid reused", portClaim{PID: other, Start: start + "0", Made: time.Now()}, false},
		{"a claim of this very process", portClaim{PID: os.Getpid(), Made: time.Now()}, false},
	} {
		write(c.claim)
		if got := claimedByOther(cfg); got != c.want {
			t.Errorf("%s: claimed %v, want %v", c.what, got, c.want)
		}
	}
}
