package atomicfile

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestWriteReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for _, content := range []string{"first", "second, longer"} {
		if err := Write(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("after Write(%q) the file holds %q, %v", content, got, err)
		}
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %v, want 0600", fi.Mode().Perm())
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the folder holds %d entries, want only the file: temporary files were left", len(entries))
	}
}

func TestWriteMissingFolder(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("Write into a missing folder succeeded")
	}
}

// TestCreate: Create writes a file that is missing and leaves one that
// exists as it is, a link included.
func TestCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if created, err := Create(path, []byte("first"), 0o600); err != nil || !created {
		t.Fatalf("the first Create: created %v, %v; want it created", created, err)
	}
	if created, err := Create(path, []byte("second"), 0o600); err != nil || created {
		t.Fatalf("the second Create: created %v, %v; want the file left alone", created, err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "first" {
		t.Errorf("after two creates: %q, %v; want the first", b, err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), link); err != nil {
		t.Skip(err)
	}
	if created, err := Create(link, []byte("x"), 0o600); err != nil || created {
		t.Fatalf("Create over a link: created %v, %v; want the link left alone", created, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nowhere")); err == nil {
		t.Error("Create wrote through a link")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files left in the folder, want the file and the link", len(entries))
	}
}
