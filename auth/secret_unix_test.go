//go:build unix

package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// TestOpenNoFollow checks the guard against a link swapped in between
// readSecretFile's Lstat and its open: the open itself refuses the link.
func TestOpenNoFollow(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	f, err := openNoFollow(file)
	if err != nil {
		t.Fatalf("open a regular file: %v", err)
	}
	f.Close()
	if f, err := openNoFollow(link); err == nil {
		f.Close()
		t.Fatal("openNoFollow followed a symbolic link")
	}
}
