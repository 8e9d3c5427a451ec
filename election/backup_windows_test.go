//go:build windows

package election

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackupDestOfAnotherSpellingOfTheDataFolder: a backup's destination
// in the data folder is refused however the folder is spelled. Before,
// the folders were related as strings, and filepath.Rel cannot relate
// \\?\C:\x to C:\x (their volume names differ): a backup to the
// \\?\ spelling of the folder's secret was taken for one outside it, and
// the copy of the store took the secret's place, which every command
// then refused, the broker's stop included.
func TestBackupDestOfAnotherSpellingOfTheDataFolder(t *testing.T) {
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "secret"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	long := `\\?\` + data
	// The broker makes backups/ when it is missing.
	if err := checkBackupDest(data, filepath.Join(long, "backups", "mine.backup")); err != nil {
		t.Errorf("backup into backups/, not made yet, under the \\\\?\\ spelling of the data folder: %v; want it taken", err)
	}
	for _, folder := range []string{"backups", "sessions"} {
		if err := os.Mkdir(filepath.Join(data, folder), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, dst := range []string{
		filepath.Join(long, "secret"),
		filepath.Join(long, "ipcmesh.db"),
		filepath.Join(long, "sessions", "bob.token"),
		filepath.Join(strings.ToUpper(data), "SECRET"),
	} {
		if err := checkBackupDest(data, dst); err == nil || !strings.Contains(err.Error(), "inside the data folder") {
			t.Errorf("backup to %s: %v; want it refused as inside the data folder %s", dst, err, data)
		}
	}
	for _, dst := range []string{
		filepath.Join(long, "backups", "mine.backup"),
		filepath.Join(strings.ToUpper(data), "BACKUPS", "mine.backup"),
		filepath.Join(`\\?\`+t.TempDir(), "mine.backup"),
	} {
		if err := checkBackupDest(data, dst); err != nil {
			t.Errorf("backup to %s: %v; want it taken", dst, err)
		}
	}
}
