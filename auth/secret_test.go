package auth

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/readonly"
)

func TestLoadSecretEnv(t *testing.T) {
	dir := t.TempDir()
	a1, src, err := LoadSecret(dir, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if src != SourceEnv {
		t.Errorf("source = %q, want %q", src, SourceEnv)
	}
	if len(a1) != secretSize {
		t.Errorf("secret is %d bytes, want %d", len(a1), secretSize)
	}
	a2, _, err := LoadSecret(t.TempDir(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a1, a2) {
		t.Error("the same env secret gave two different master secrets")
	}
	b, _, err := LoadSecret(dir, "correct horse battery stapler")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a1, b) {
		t.Error("two env secrets gave the same master secret")
	}
	if _, err := os.Stat(filepath.Join(dir, secretFileName)); !os.IsNotExist(err) {
		t.Errorf("an env secret left a secret file behind (stat: %v)", err)
	}
}

func TestLoadSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	s1, src, err := LoadSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if src != SourceFile {
		t.Errorf("source = %q, want %q", src, SourceFile)
	}
	if len(s1) != secretSize {
		t.Errorf("secret is %d bytes, want %d", len(s1), secretSize)
	}
	path := filepath.Join(dir, secretFileName)
	if runtime.GOOS != "windows" {
		wantMode(t, dir, 0o700)
		wantMode(t, path, 0o600)
	}
	s2, _, err := LoadSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s1, s2) {
		t.Error("the secret file was not reused")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("data folder holds %d entries, want only the secret (temporary files left behind?)", len(entries))
	}
}

func TestLoadSecretConcurrentFirstUse(t *testing.T) {
	dir := t.TempDir()
	const n = 16
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		secrets = make([][]byte, n)
		errs    = make([]error, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			secrets[i], _, errs[i] = LoadSecret(dir, "")
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Fatalf("goroutine %d got a different secret than goroutine 0", i)
		}
	}
	onDisk, _, err := LoadSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, secrets[0]) {
		t.Error("the secret on disk differs from the one the racers got")
	}
}

func TestLoadSecretOpenFileRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix mode bits on windows")
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o660} {
		dir := t.TempDir()
		if _, _, err := LoadSecret(dir, ""); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, secretFileName)
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadSecret(dir, "")
		if err == nil {
			t.Fatalf("mode %04o: secret file accepted", mode)
		}
		if want := "chmod 600 " + path; !strings.Contains(err.Error(), want) {
			t.Errorf("mode %04o: error %q does not say %q", mode, err, want)
		}
	}
}

func TestLoadSecretBadFileRefused(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"empty", ""},
		{"blank", "\n"},
		{"short", "abcd\n"},
		{"long", strings.Repeat("ab", secretSize+1)},
		{"not hex", strings.Repeat("zz", secretSize)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, secretFileName)
			if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := LoadSecret(dir, "")
			if err == nil {
				t.Fatal("bad secret file accepted")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
		})
	}
}

func TestLoadSecretFileFormat(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte{0xab}, secretSize)
	if err := os.WriteFile(filepath.Join(dir, secretFileName), []byte(strings.Repeat("ab", secretSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _, err := LoadSecret(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("secret = %x, want %x", got, want)
	}
}

// A secret file that cannot be made (a read-only data folder here; a full
// disk is met the same way) is refused with the folder and what to do,
// and leaves no file; once the folder is writable the secret is made.
// Before, the error was the write's alone ("permission denied").
func TestLoadSecretFolderNotWritable(t *testing.T) {
	dir := t.TempDir()
	writable := readonly.Folder(t, dir)
	_, _, err := LoadSecret(dir, "")
	if want := "free some space in " + dir + " (or make it writable) and try again"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("LoadSecret in a read-only folder: %v; want it to say %q", err, want)
	}
	writable()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a secret file that could not be made left %s", entries[0].Name())
	}
	if _, _, err := LoadSecret(dir, ""); err != nil {
		t.Fatalf("LoadSecret once the folder is writable: %v", err)
	}
}

func TestLoadSecretNoDataDir(t *testing.T) {
	if _, _, err := LoadSecret("", ""); err == nil {
		t.Error("no data folder and no env secret: got no error")
	}
}

func wantMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s has mode %04o, want %04o", path, got, want)
	}
}

// BenchmarkStretchSecret measures the argon2id cost paid once per process
// that uses IPC_SHARED_SECRET.
func BenchmarkStretchSecret(b *testing.B) {
	for b.Loop() {
		stretch("correct horse battery staple")
	}
}

// TestLoadSecretLinkRefused plants a symbolic link where the secret file
// belongs: to a good private secret file, and to nowhere. Neither is
// followed, and neither is replaced by a new secret.
func TestLoadSecretLinkRefused(t *testing.T) {
	good := t.TempDir()
	if _, _, err := LoadSecret(good, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, target string }{
		{"to a secret file", filepath.Join(good, secretFileName)},
		{"dangling", filepath.Join(good, "missing")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, secretFileName)
			if err := os.Symlink(tc.target, path); err != nil {
				t.Skipf("cannot make a symbolic link here: %v", err)
			}
			_, _, err := LoadSecret(dir, "")
			if err == nil {
				t.Fatal("a secret file that is a symbolic link was accepted")
			}
			for _, want := range []string{path, "symbolic link", "replace the link"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Errorf("the link was replaced or removed (lstat: %v, %v)", fi, err)
			}
			if _, err := os.Stat(tc.target); tc.name == "dangling" && !os.IsNotExist(err) {
				t.Errorf("a file was created where the dangling link points (stat: %v)", err)
			}
		})
	}
}
