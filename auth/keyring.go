package auth

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// Keyring keeps a client's session tokens on disk, so that the same user on
// the same machine resumes a name without registering again.
//
// Layout, inside Dir/sessions (0700):
//
//	FILE.token  the token for NAME and a newline (0600), where FILE is
//	            ipcmesh.FileName(NAME): names that differ only in case
//	            get files of their own even where the file system
//	            ignores case, and no name's file is a Windows device
//	current     the name saved last and a newline (0600)
//	FILE.register  the session id of a register of NAME whose token is
//	            not kept yet, so that a retry resumes its session (0600)
//	FILE.rename  a rename of NAME the broker did not answer, which it
//	            may still carry out (PendingRename, 0600)
//	pruned      when tokens long expired were last removed (prune.go)
//
// Every file is written whole under a temporary name and renamed into place,
// so a reader never sees half a token. Every method checks the name with
// ipcmesh.ValidateName first, so no name can reach outside the folder.
type Keyring struct {
	// Dir is the data folder.
	Dir string
}

const currentFile = "current"

// Save stores token for name and makes name the current one: the name
// commands act as when none is chosen.
func (k Keyring) Save(name, token string) error {
	if err := k.Keep(name, token); err != nil {
		return err
	}
	path, err := k.tokenPath(name)
	if err != nil {
		return fmt.Errorf("save session token: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(filepath.Dir(path), currentFile), []byte(name+"\n"), 0o600); err != nil {
		return fmt.Errorf("save current name %s: %w", name, err)
	}
	return nil
}

// Keep stores token for name without changing the current name, for a
// session that was renewed or resumed rather than chosen.
func (k Keyring) Keep(name, token string) error {
	path, err := k.tokenPath(name)
	if err != nil {
		return fmt.Errorf("save session token: %w", err)
	}
	if !keepable(token) {
		return fmt.Errorf("save session token for %s: the token is empty or malformed", name)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create session folder %s: %w", dir, err)
	}
	if err := atomicfile.Write(path, []byte(token+"\n"), 0o600); err != nil {
		return fmt.Errorf("save session token for %s: %w", name, err)
	}
	prune(dir, name, time.Now())
	return nil
}

// Load returns the token saved for name. When there is none, the error wraps
// os.ErrNotExist.
func (k Keyring) Load(name string) (string, error) {
	path, err := k.tokenPath(name)
	if err != nil {
		return "", fmt.Errorf("load session token: %w", err)
	}
	data, err := atomicfile.ReadFile(path)
	legacy := legacyPath(path, name)
	fromLegacy := false
	if errors.Is(err, fs.ErrNotExist) && legacy != path {
		// Saved before file names kept case apart. On a file system that
		// ignores case this may be another name's file: the token's own
		// name tells, below.
		data, err = atomicfile.ReadFile(legacy)
		path, fromLegacy = legacy, true
	}
	if err != nil {
		return "", fmt.Errorf("load session token for %s: %w", name, err)
	}
	token := strings.TrimSpace(string(data))
	n, named := tokenName(token)
	switch {
	case named && n != name:
		return "", fmt.Errorf("load session token for %s: %s holds the session of %q, not %s: %w", name, path, n, name, fs.ErrNotExist)
	case fromLegacy && (!named || !keepable(token)):
		// On a file system that ignores case this may be another name's
		// file, damaged: it is none of name's.
		return "", fmt.Errorf("load session token for %s: %s holds no token of %s: %w", name, path, name, fs.ErrNotExist)
	case token == "":
		return "", fmt.Errorf("session token file %s is empty: %s", path, mend(name))
	case !keepable(token):
		// Sent as it is, it would only be refused by the broker, in words
		// that name no file.
		return "", fmt.Errorf("session token file %s is damaged: it holds %d bytes that are not a session token (at most %d letters, digits, '-', '_' and '.'): %s",
			path, len(token), maxTokenLen, mend(name))
	}
	if fromLegacy {
		k.Keep(name, token) // under its own file name from now on; the old file may be another name's
	}
	return token, nil
}

// mend says how to mend the damaged token file of name. A register writes
// a new one, but the session the file held cannot be resumed without it:
// until that session expires, the register is refused as name_taken.
func mend(name string) string {
	return fmt.Sprintf("register %s again (ipcmesh register %s), which writes a new one; if the session it held is still live (it lasts IPC_SESSION_TTL, 24h, after its last use), the name stays taken until then: act as another name meanwhile", name, name)
}

// keepable reports whether token is one Keep writes: one line of at most
// maxTokenLen token characters.
func keepable(token string) bool {
	return token != "" && len(token) <= maxTokenLen && tokenChars(token)
}

// Current returns the name saved last. When there is none, the error wraps
// os.ErrNotExist; a file that holds no valid name is reported as damaged,
// naming it.
func (k Keyring) Current() (string, error) {
	dir, err := k.dir()
	if err != nil {
		return "", fmt.Errorf("load current name: %w", err)
	}
	path := filepath.Join(dir, currentFile)
	data, err := atomicfile.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("load current name: %w", err)
	}
	name := strings.TrimSpace(string(data))
	if err := ipcmesh.ValidateName(name); err != nil {
		// Not wrapped: the name is the file's fault, not its reader's.
		return "", fmt.Errorf("the file %s, which keeps the data folder's default name, is damaged: %v", path, err)
	}
	return name, nil
}

// Remove deletes the token saved for name, and the current name if it is
// name. Removing a name with no token is not an error.
func (k Keyring) Remove(name string) error {
	path, err := k.tokenPath(name)
	if err != nil {
		return fmt.Errorf("remove session token: %w", err)
	}
	if err := removeFile(path); err != nil {
		return fmt.Errorf("remove session token for %s: %w", name, err)
	}
	// A file from before file names kept case apart, if it is this name's.
	legacy := legacyPath(path, name)
	if data, err := os.ReadFile(legacy); legacy != path && err == nil {
		if n, ok := tokenName(strings.TrimSpace(string(data))); ok && n == name {
			os.Remove(legacy)
		}
	}
	if cur, err := k.Current(); err == nil && cur == name {
		current := filepath.Join(filepath.Dir(path), currentFile)
		if err := os.Remove(current); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove current name %s: %w", name, err)
		}
	}
	return nil
}

func (k Keyring) dir() (string, error) {
	if k.Dir == "" {
		return "", errors.New("the keyring has no data folder")
	}
	return filepath.Join(k.Dir, "sessions"), nil
}

func (k Keyring) tokenPath(name string) (string, error) {
	return k.path(name, ".token")
}

// path is the file of name with extension ext in the sessions folder.
func (k Keyring) path(name, ext string) (string, error) {
	if err := ipcmesh.ValidateName(name); err != nil {
		return "", err
	}
	dir, err := k.dir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, ipcmesh.FileName(name)+ext), nil
}

// legacyPath is where name's token was kept, beside path, before file
// names kept case apart and kept clear of Windows' device names; the same
// as path for a name that needed neither. On Windows a device's name was
// never a file (and opening it opens the device), so none is looked for.
func legacyPath(path, name string) string {
	if runtime.GOOS == "windows" && ipcmesh.IsWindowsDevice(name) {
		return path
	}
	return filepath.Join(filepath.Dir(path), name+".token")
}

// removeFile removes path; one that is not there is removed already.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
