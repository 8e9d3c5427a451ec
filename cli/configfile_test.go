package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestFirstBackupUnderRace: installs that change the same config at the
// same moment keep exactly one first backup, the content one of them
// replaced, and every other run says it kept its version in .last.bak.
// Each run hands in a content of its own, so a first backup written twice
// shows as two runs claiming it.
func TestFirstBackupUnderRace(t *testing.T) {
	t.Parallel()
	doc := &document{root: newObject()}
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "settings.json")
		if err := os.WriteFile(path, []byte("original"), 0o600); err != nil {
			t.Fatal(err)
		}
		const runs = 8
		kept := make([]string, runs)
		errs := make([]error, runs)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range runs {
			wg.Go(func() {
				<-start
				kept[i], errs[i] = writeConfig(path, path, fmt.Appendf(nil, "version %d", i), doc, 0o600)
			})
		}
		close(start)
		wg.Wait()
		var first []int
		for i := range runs {
			if errs[i] != nil {
				t.Fatalf("round %d, run %d: %v", round, i, errs[i])
			}
			if !strings.Contains(kept[i], ".last.bak") {
				first = append(first, i)
			}
		}
		if len(first) != 1 {
			t.Fatalf("round %d: runs %v each say they wrote settings.json.bak; want exactly one", round, first)
		}
		bak, err := os.ReadFile(path + ".bak")
		if want := fmt.Sprintf("version %d", first[0]); err != nil || string(bak) != want {
			t.Fatalf("round %d: settings.json.bak holds %q (%v), want %q, the content the run that wrote it replaced", round, bak, err, want)
		}
	}
}
