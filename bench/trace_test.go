package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchCommandTrace asks for traces and profiles of figure (a): the
// broker and the sending helper each leave an execution trace, and each
// helper's trace and profile carry the same number, so that the two of
// one process can be read together.
func TestBenchCommandTrace(t *testing.T) {
	dir := t.TempDir()
	r := benchJSON(t, "--quick", "--reps", "1", "--only", "a", "--trace", dir, "--profile", dir)
	checkReport(t, &r, []string{"a", "x.fsync", "x.rtt"})
	for _, pattern := range []string{"broker-a-*.trace", "agent-a-send-*.trace"} {
		files, _ := filepath.Glob(filepath.Join(dir, pattern))
		if len(files) != 1 {
			all, _ := filepath.Glob(filepath.Join(dir, "*"))
			t.Fatalf("--trace wrote %q, want one %s", all, pattern)
		}
		b, err := os.ReadFile(files[0])
		if err != nil || !bytes.HasPrefix(b, []byte("go 1.")) {
			t.Errorf("%s is not an execution trace (%d bytes, %v)", files[0], len(b), err)
		}
		if strings.HasPrefix(pattern, "agent") {
			profile := strings.TrimSuffix(files[0], ".trace") + ".pprof"
			if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
				t.Errorf("the sender's trace %s has no profile %s beside it (%v)", files[0], profile, err)
			}
		}
	}
}
