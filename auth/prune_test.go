package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A keyring removes the tokens that expired over a week ago, once a day,
// keeping the current name's and those a pending register or rename
// settles; the next command acting as a removed name registers it again.
func TestKeyringPrunesTokensLongExpired(t *testing.T) {
	keys := testKeys(t, "prune")
	k := Keyring{Dir: t.TempDir()}
	now := time.Now()
	dir := filepath.Join(k.Dir, "sessions")
	// Looked just now: the keeps below do not look.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, prunedFile), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	token := func(name string, expires time.Time) string {
		return keys.SignToken(Token{Name: name, SessionID: "s-" + name, Expires: expires})
	}
	for name, exp := range map[string]time.Time{
		"job-1":   now.Add(-8 * 24 * time.Hour),
		"job-2":   now.Add(-30 * 24 * time.Hour),
		"pending": now.Add(-8 * 24 * time.Hour),
		"young":   now.Add(-24 * time.Hour),
		"live":    now.Add(time.Hour),
	} {
		if err := k.Keep(name, token(name, exp)); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.Save("builder", token("builder", now.Add(-9*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.RegisterSession("pending"); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, prunedFile))

	if n := prune(dir, "", now); n != 2 {
		t.Fatalf("prune removed %d tokens, want 2 (job-1, job-2)", n)
	}
	for _, name := range []string{"job-1", "job-2"} {
		if _, err := k.Load(name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Load(%s) after prune: %v, want not found", name, err)
		}
	}
	for _, name := range []string{"pending", "young", "live", "builder"} {
		if _, err := k.Load(name); err != nil {
			t.Errorf("Load(%s) after prune: %v, want its token kept", name, err)
		}
	}

	// Looked once, it does not look again for a day.
	if err := k.Keep("job-3", token("job-3", now.Add(-8*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if n := prune(dir, "", now.Add(time.Hour)); n != 0 {
		t.Fatalf("prune an hour on removed %d tokens, want none", n)
	}
	if n := prune(dir, "", now.Add(25*time.Hour)); n != 1 {
		t.Fatalf("prune a day on removed %d tokens, want 1 (job-3)", n)
	}

	// The token a keep writes is never the one it removes.
	os.Remove(filepath.Join(dir, prunedFile))
	if err := k.Keep("job-4", token("job-4", now.Add(-8*24*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Load("job-4"); err != nil {
		t.Fatalf("Load(job-4) after its keep looked for tokens to remove: %v", err)
	}
}
