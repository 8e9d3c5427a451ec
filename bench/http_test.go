package bench

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// TestBenchCommandHTTPFace runs "ipcmesh bench --face http" as users
// would, on three figures, and reads the HTTP rows beside the native ones.
// Under the flood of connections without a key, the face holds no more
// of them than its bound.
func TestBenchCommandHTTPFace(t *testing.T) {
	r := benchJSON(t, "--quick", "--reps", "1", "--face", "http", "--only", "a,c,h")
	checkReport(t, &r, []string{"a", "c.p50", "c.p99", "h.rate", "h", "h.after", "h.rtt", "h.rtt99", "h.join",
		"a.http", "c.http.p50", "c.http.p99", "h.http", "h.http.fds", "h.http.req", "h.http.req99", "x.fsync", "x.rtt"})
	if fds, _ := r.Figure("h.http.fds"); !fds.NA && fds.Max > 1024+64 {
		t.Errorf("the face held %v descriptors under %s, want at most its bound of 1,024 connections without a key and some of its own", fds.Max, fds.Note)
	}
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

// TestBenchCommandBrokerFace measures the face that "ipcmesh broker
// --http" serves: a send through it reaches the recipient, and the
// memory figure counts its one process once. With --profile and
// --trace, the face's process is profiled and traced beside the others,
// and so is the bench's own, where the HTTP clients run.
func TestBenchCommandBrokerFace(t *testing.T) {
	dir := t.TempDir()
	r := benchJSON(t, "--quick", "--reps", "1", "--face", "broker", "--only", "a,f", "--profile", dir, "--trace", dir)
	checkReport(t, &r, []string{"a", "f", "a.http", "f.http", "x.fsync", "x.rtt"})
	f, _ := r.Figure("f.http")
	if !strings.Contains(f.Note, "broker and face in one process") {
		t.Errorf("the note of f.http = %q, want it to say broker and face are one process", f.Note)
	}
	if a, _ := r.Figure("a.http"); !strings.Contains(a.Note, "through an ipcmesh broker --http child") {
		t.Errorf("the note of a.http = %q, want it to name the broker --http child it went through", a.Note)
	}
	faces, _ := filepath.Glob(filepath.Join(dir, "broker-face-*.pprof"))
	if len(faces) == 0 {
		all, _ := filepath.Glob(filepath.Join(dir, "*"))
		t.Fatalf("--profile wrote %q, want a broker-face-*.pprof of the broker --http process", all)
	}
	for _, p := range faces {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("the face's profile %s is empty (%v)", p, err)
		}
		trace := strings.TrimSuffix(p, ".pprof") + ".trace"
		if b, err := os.ReadFile(trace); err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
			t.Errorf("the face's profile %s has no execution trace %s beside it (%d bytes, %v)", p, trace, len(b), err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bench-process.trace")); err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
		t.Errorf("--trace left no execution trace of the bench process, where the HTTP clients run (%d bytes, %v)", len(b), err)
	}
}

func TestBenchCommandFaceUsage(t *testing.T) {
	cmd := exec.Command(ipcmeshBin, "bench", "--face", "smtp")
	cmd.Env = testbin.CleanEnviron()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), "--face takes native, http or broker") {
		t.Errorf("ipcmesh bench --face smtp: %v, want exit status 2 naming the choices\n%s", err, out)
	}
}
