package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// PendingRename is a rename of Old to New that the broker did not answer
// (it was stopped or hung, or the command was interrupted): the broker
// may still carry it out, after the process that sent it has ended. Its
// RequestID, sent in a resume with Old's token, picks up the session the
// rename made; sent in the same rename again, it finishes it rather than
// asks for it twice.
type PendingRename struct {
	Old       string `json:"old"`
	New       string `json:"new"`
	RequestID string `json:"request_id"`
}

// valid reports whether r is a rename a keyring can have kept.
func (r PendingRename) valid() bool {
	if ipcmesh.ValidateName(r.Old) != nil || ipcmesh.ValidateName(r.New) != nil || len(r.RequestID) < 8 || len(r.RequestID) > 64 {
		return false
	}
	return strings.Trim(r.RequestID, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// KeepRename keeps r in the data folder, as OLD.rename beside Old's token,
// so that the next command or server of this folder that acts as Old or
// New picks up the rename if the broker carried it out. One rename of a
// name is pending at a time: the last one kept.
func (k Keyring) KeepRename(r PendingRename) error {
	if !r.valid() {
		return fmt.Errorf("keep the rename of %q to %q: it is malformed", r.Old, r.New)
	}
	path, err := k.renamePath(r.Old)
	if err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keep the rename of %s to %s: %w", r.Old, r.New, err)
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("keep the rename of %s to %s: %w", r.Old, r.New, err)
	}
	return nil
}

// RenameOf returns the pending rename of old, if one is kept.
func (k Keyring) RenameOf(old string) (PendingRename, bool) {
	path, err := k.renamePath(old)
	if err != nil {
		return PendingRename{}, false
	}
	r, ok := readRename(path)
	return r, ok && r.Old == old
}

// RenameTo returns the pending rename to name, if one is kept: a command
// that acts as the new name has no token for it yet, only the old name's.
func (k Keyring) RenameTo(name string) (PendingRename, bool) {
	dir, err := k.dir()
	if err != nil {
		return PendingRename{}, false
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.rename"))
	if err != nil {
		return PendingRename{}, false
	}
	for _, f := range files {
		if r, ok := readRename(f); ok && r.New == name {
			return r, true
		}
	}
	return PendingRename{}, false
}

// DropRename forgets the pending rename of old, once it is settled: the
// broker answered it, or a resume found it carried out.
func (k Keyring) DropRename(old string) error {
	path, err := k.renamePath(old)
	if err != nil {
		return err
	}
	if err := removeFile(path); err != nil {
		return fmt.Errorf("forget the pending rename of %s: %w", old, err)
	}
	return nil
}

// readRename reads the pending rename kept at path. On Windows a file
// being replaced (KeepRename in another process) cannot be opened for a
// moment: that is tried again, not taken for no rename.
func readRename(path string) (PendingRename, bool) {
	b, err := atomicfile.ReadFile(path)
	if err != nil {
		return PendingRename{}, false
	}
	var r PendingRename
	if err := json.Unmarshal(b, &r); err != nil || !r.valid() {
		return PendingRename{}, false
	}
	return r, true
}

func (k Keyring) renamePath(old string) (string, error) {
	return k.path(old, ".rename")
}
