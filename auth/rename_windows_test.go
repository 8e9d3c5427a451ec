//go:build windows

package auth

import (
	"syscall"
	"testing"
	"time"
)

// TestRenameOfAFileHeldForAMoment: a pending rename whose file another
// process holds for a moment, as KeepRename replacing it does (or a
// virus scanner looking at it), is read once it is free. Before, the
// sharing violation read as no rename kept, and a command that acted as
// the old name missed the rename its broker may have carried out.
func TestRenameOfAFileHeldForAMoment(t *testing.T) {
	k := Keyring{Dir: t.TempDir()}
	r := PendingRename{Old: "carol", New: "caroline", RequestID: "0123456789abcdef0123456789abcdef"}
	if err := k.KeepRename(r); err != nil {
		t.Fatal(err)
	}
	path, err := k.renamePath("carol")
	if err != nil {
		t.Fatal(err)
	}
	name, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	// Shared with nobody: every other open fails until it is closed.
	h, err := syscall.CreateFile(name, syscall.GENERIC_READ, 0, nil, syscall.OPEN_EXISTING, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	release := time.AfterFunc(200*time.Millisecond, func() { syscall.CloseHandle(h) })
	defer func() {
		if release.Stop() {
			syscall.CloseHandle(h)
		}
	}()
	if got, ok := k.RenameOf("carol"); !ok || got != r {
		t.Errorf("RenameOf(carol) while its file was held for a moment = %+v, %v; want %+v", got, ok, r)
	}
}
