package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestBenchCommandHTTPFace runs "ipcmesh bench --face http" as users
// would, on two figures, and reads the HTTP rows beside the native ones.
func TestBenchCommandHTTPFace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ipcmeshBin, "bench", "--quick", "--json", "--reps", "1", "--face", "http", "--only", "a,c")
	cmd.Env = testbin.CleanEnviron()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ipcmesh bench: %v\n%s", err, stderr.String())
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s", err, stdout.String())
	}
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
