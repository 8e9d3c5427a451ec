package bench

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestBenchCommandHTTPFace runs "ipcmesh bench --face http" as users
// would, on two figures, and reads the HTTP rows beside the native ones.
func TestBenchCommandHTTPFace(t *testing.T) {
	r := benchJSON(t, "--quick", "--reps", "1", "--face", "http", "--only", "a,c")
	checkReport(t, &r, []string{"a", "c.p50", "c.p99", "a.http", "c.http.p50", "c.http.p99", "x.fsync", "x.rtt"})
	compared := 0
	for _, n := range r.Notes {
		if strings.Contains(n, "HTTP") && strings.Contains(n, "of native") {
			compared++
		}
	}
	if compared != 2 {
		t.Errorf("the notes compare %d HTTP figures with the native ones, want 2 (a and c): %q", compared, r.Notes)
	}
}

func TestBenchCommandFaceUsage(t *testing.T) {
	cmd := exec.Command(ipcmeshBin, "bench", "--face", "smtp")
	cmd.Env = testbin.CleanEnviron()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--face takes native or http") {
		t.Errorf("ipcmesh bench --face smtp: %v, want exit status 2 naming the choices\n%s", err, out)
	}
}
