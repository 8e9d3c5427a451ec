package auth

import (
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// RegisterSession returns the session id a register of name from this
// data folder sends, and whether it is kept there (until DropRegister):
// the one kept already if there is one, else a new one, kept if the
// folder can take it. A register that reached the broker but whose token
// was lost (its process died, the folder was full) left a session only
// that id resumes; the same id makes a retry resume it, as PROTOCOL.md
// promises, rather than get name_taken. Registers of the same name racing
// from one folder all send the id the first of them kept, so they all
// join one session.
func (k Keyring) RegisterSession(name string) (sid string, kept bool, err error) {
	path, err := k.pendingPath(name)
	if err != nil {
		return "", false, err
	}
	if sid, ok := readSessionID(path); ok {
		return sid, true, nil
	}
	if sid, err = NewSessionID(); err != nil {
		return "", false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return sid, false, nil
	}
	if _, err := atomicfile.Create(path, []byte(sid+"\n"), 0o600); err != nil {
		return sid, false, nil // the fallback is the caller's: see election's Register
	}
	// Another process may have kept its id first: every one sends that.
	if won, ok := readSessionID(path); ok {
		return won, true, nil
	}
	return sid, false, nil
}

// readSessionID reads the session id kept at path.
func readSessionID(path string) (string, bool) {
	b, err := atomicfile.ReadFile(path)
	if err != nil {
		return "", false
	}
	sid := strings.TrimSpace(string(b))
	return sid, validSessionID(sid)
}

// DropRegister forgets the session id of a register of name, once its
// token is kept: the next register makes a session of its own.
func (k Keyring) DropRegister(name string) error {
	path, err := k.pendingPath(name)
	if err != nil {
		return err
	}
	if err := removeFile(path); err != nil {
		return fmt.Errorf("forget the session id of a register of %s: %w", name, err)
	}
	return nil
}

func (k Keyring) pendingPath(name string) (string, error) {
	return k.path(name, ".register")
}

// validSessionID reports whether s is a session id NewSessionID makes.
func validSessionID(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 16 && s == hex.EncodeToString(b)
}
