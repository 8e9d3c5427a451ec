package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A folder's keyring keeps a token for every name registered from it, and
// a script that acts as a name of its own each run (IPC_NAME=ci-1234) left
// a file per run, for ever. A token is worth nothing once its session has
// expired: the next command acting as its name registers it again. So a
// keyring removes, once a day when it keeps a token, the tokens that
// expired over pruneAfter ago.

// pruneEvery is how often a keyring looks for tokens long expired, and
// pruneAfter how long after its expiry a token is removed.
const (
	pruneEvery = 24 * time.Hour
	pruneAfter = 7 * 24 * time.Hour
)

// prunedFile's modification time is when the keyring last looked.
const prunedFile = "pruned"

// prune removes the tokens of dir (the sessions folder) that expired
// before now less pruneAfter, if it did not look within pruneEvery. It
// keeps the token of kept, just written, and the current name's, and a
// token beside which a register or a rename is pending: those files
// settle it. It reports how many it
// removed; a token it cannot read or remove stays, and nothing here fails
// the keep that called it.
func prune(dir, kept string, now time.Time) int {
	marker := filepath.Join(dir, prunedFile)
	if fi, err := os.Stat(marker); err == nil && now.Sub(fi.ModTime()) < pruneEvery {
		return 0
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err := os.WriteFile(marker, nil, 0o600); err != nil {
		return 0
	}
	os.Chtimes(marker, now, now)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	current, _ := os.ReadFile(filepath.Join(dir, currentFile))
	pending := map[string]bool{}
	for _, e := range entries {
		for _, ext := range []string{".register", ".rename"} {
			if base, ok := strings.CutSuffix(e.Name(), ext); ok {
				pending[base] = true
			}
		}
	}
	n := 0
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".token")
		if !ok || pending[base] || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil || len(data) > maxTokenLen+2 {
			continue
		}
		p, ok := unverified(strings.TrimSpace(string(data)))
		if !ok || p.N == kept || p.N == strings.TrimSpace(string(current)) || !time.Unix(p.X, 0).Before(now.Add(-pruneAfter)) {
			continue
		}
		if os.Remove(path) == nil {
			n++
		}
	}
	return n
}
