package auth

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A rename kept is found by its old name and by its new one, and by
// nothing else; a file that does not hold one (damaged, or another
// name's under a file name a case-blind file system shares) is none.
func TestPendingRename(t *testing.T) {
	k := Keyring{Dir: t.TempDir()}
	r := PendingRename{Old: "carol", New: "caroline", RequestID: "0123456789abcdef0123456789abcdef"}
	if err := k.KeepRename(r); err != nil {
		t.Fatal(err)
	}
	if got, ok := k.RenameOf("carol"); !ok || got != r {
		t.Errorf("RenameOf(carol) = %+v, %v; want %+v", got, ok, r)
	}
	if got, ok := k.RenameTo("caroline"); !ok || got != r {
		t.Errorf("RenameTo(caroline) = %+v, %v; want %+v", got, ok, r)
	}
	for _, name := range []string{"caroline", "Carol"} {
		if got, ok := k.RenameOf(name); ok {
			t.Errorf("RenameOf(%s) = %+v, want none", name, got)
		}
	}
	if got, ok := k.RenameTo("carol"); ok {
		t.Errorf("RenameTo(carol) = %+v, want none", got)
	}
	if fi, err := os.Stat(filepath.Join(k.Dir, "sessions", "carol.rename")); err != nil || runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("the rename's file: %v, %v; want it private (0600)", fi, err)
	}

	// A damaged file is no rename.
	if err := os.WriteFile(filepath.Join(k.Dir, "sessions", "dave.rename"), []byte(`{"old":"dave","new":"caroline","request_id":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, ok := k.RenameOf("dave"); ok {
		t.Errorf("RenameOf(dave) of a malformed file = %+v, want none", got)
	}
	if bad := (PendingRename{Old: "carol", New: "../x", RequestID: r.RequestID}); k.KeepRename(bad) == nil {
		t.Errorf("KeepRename(%+v) kept a rename to a name that is not one", bad)
	}

	if err := k.DropRename("carol"); err != nil {
		t.Fatal(err)
	}
	if _, ok := k.RenameTo("caroline"); ok {
		t.Error("the rename is found after DropRename")
	}
	if err := k.DropRename("carol"); err != nil {
		t.Errorf("DropRename of a rename not kept: %v", err)
	}
}
