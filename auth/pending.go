package auth

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// RegisterSession returns the session id a register of name from this
// data folder sends: the one an earlier register kept (KeepRegister) if
// its token never got kept, else a new one. A register that reached the
// broker but whose token was lost (its process died, the folder was full)
// left a session only that id resumes; the same id makes the retry
// resume it, as PROTOCOL.md promises, rather than get name_taken.
// pending says whether the id came from an earlier register.
func (k Keyring) RegisterSession(name string) (sid string, pending bool, err error) {
	path, err := k.pendingPath(name)
	if err != nil {
		return "", false, err
	}
	if b, err := os.ReadFile(path); err == nil {
		if sid := strings.TrimSpace(string(b)); validSessionID(sid) {
			return sid, true, nil
		}
	}
	sid, err = NewSessionID()
	return sid, false, err
}

// KeepRegister keeps sid as the session id of a register of name in
// flight, until DropRegister.
func (k Keyring) KeepRegister(name, sid string) error {
	path, err := k.pendingPath(name)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keep the session id of a register of %s: %w", name, err)
	}
	if err := atomicfile.Write(path, []byte(sid+"\n"), 0o600); err != nil {
		return fmt.Errorf("keep the session id of a register of %s: %w", name, err)
	}
	return nil
}

// DropRegister forgets the session id of a register of name, once its
// token is kept: the next register makes a session of its own.
func (k Keyring) DropRegister(name string) error {
	path, err := k.pendingPath(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("forget the session id of a register of %s: %w", name, err)
	}
	return nil
}

func (k Keyring) pendingPath(name string) (string, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return "", err
	}
	dir, err := k.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, ipcmesh.FileName(name)+".register"), nil
}

// validSessionID reports whether s is a session id NewSessionID makes.
func validSessionID(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 16 && s == hex.EncodeToString(b)
}
