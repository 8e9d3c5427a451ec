package auth

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/crypto/argon2"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// Source tells where the master secret came from, for status output.
type Source string

// The places a master secret comes from.
const (
	SourceEnv  Source = "env"  // IPC_SHARED_SECRET, stretched with argon2id
	SourceFile Source = "file" // the per-user secret file in the data folder
)

// secretSize is the length of the master secret, whichever its source.
const secretSize = 32

// The argon2id parameters for a human-chosen secret. They are part of the
// protocol: a peer that stretched with other values would derive other keys
// and could not talk to the rest, so changing any of them needs a new "v2"
// salt. The salt is fixed because every peer must reach the same key on its
// own; the price is that one dictionary over this salt serves against every
// ipcmesh user, which the OWASP-minimum cost (time 2, 19 MiB) only slows. Use
// a long random value for IPC_SHARED_SECRET, or let the file be made.
const (
	stretchSalt    = "ipcmesh/v1 shared secret"
	stretchTime    = 2
	stretchMemory  = 19 * 1024 // KiB
	stretchThreads = 1
)

// secretFileName is the name of the secret file inside the data folder. The
// file holds the 32-byte secret as 64 hex digits and a newline: text survives
// being viewed, copied to another account or pasted into a chat with a human
// far better than raw bytes do.
const secretFileName = "secret"

// SecretFile is the path of the secret file of the data folder dataDir:
// the secret of a mesh whose processes are not given IPC_SHARED_SECRET.
// Copied whole into another data folder, it gives that folder the same
// secret.
func SecretFile(dataDir string) string { return filepath.Join(dataDir, secretFileName) }

// maxSecretFile bounds what is read of a secret file, so pointing the data
// folder at something huge cannot exhaust memory.
const maxSecretFile = 4096

// LoadSecret returns the master secret.
//
// When env (the value of IPC_SHARED_SECRET) is not empty, it is a secret chosen
// by a person, used byte for byte (no trimming), and stretched once with
// argon2id into 32 bytes. Otherwise the secret is read from the file "secret"
// in dataDir, which is created with 32 random bytes on first use (the folder
// 0700, the file 0600). Processes that start at the same moment all end up
// with the same secret.
//
// On unix, a secret file that group or others may access is refused, as is a
// file that is not a regular file (a symbolic link included: it is never
// followed) or does not hold exactly 64 hex digits; the error names the file
// and says what to do.
func LoadSecret(dataDir, env string) (secret []byte, src Source, err error) {
	if env != "" {
		return stretch(env), SourceEnv, nil
	}
	if dataDir == "" {
		return nil, "", errors.New("load secret: IPC_SHARED_SECRET is unset and there is no data folder to keep a secret file in")
	}
	path := SecretFile(dataDir)
	secret, err = readSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		secret, err = createSecretFile(dataDir, path)
	}
	if err != nil {
		return nil, "", err
	}
	return secret, SourceFile, nil
}

func stretch(secret string) []byte {
	return argon2.IDKey([]byte(secret), []byte(stretchSalt), stretchTime, stretchMemory, stretchThreads, secretSize)
}

func readSecretFile(path string) ([]byte, error) {
	// A link is refused, not followed: the secret is whatever file it
	// points to, which may be another user's or one that changes under
	// us. Lstat tells a person what is wrong, and keeps a FIFO from
	// blocking the open; openNoFollow refuses a link planted in between.
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, linkRefused(path)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path)
	}
	f, err := openNoFollow(path)
	if err != nil {
		// The error for a link differs from one system to the next (ELOOP,
		// EMLINK, EFTYPE): look again instead.
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, linkRefused(path)
		}
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// the bytes read.
	fi, err = f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path)
	}
	// Windows has no mode bits to speak of; its ACLs are out of os.FileMode's
	// reach, so the check would only ever raise false alarms there.
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("secret file %s is open to other users (mode %04o): run chmod 600 %s", path, perm, path)
	}
	// One byte past the bound tells a file that is over it from one
	// that ends there: the first maxSecretFile bytes of a longer file
	// could be all space, or a secret with more after it.
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", path, err)
	}
	want := hex.EncodedLen(secretSize)
	if len(data) > maxSecretFile {
		return nil, fmt.Errorf("secret file %s is over %d bytes, where a secret is %d hex digits: %s", path, maxSecretFile, want, damagedSecret)
	}
	text := bytes.TrimSpace(data)
	if len(text) != want {
		return nil, fmt.Errorf("secret file %s holds %d bytes besides the space around them, want %d hex digits: %s", path, len(text), want, damagedSecret)
	}
	secret := make([]byte, secretSize)
	if _, err := hex.Decode(secret, text); err != nil {
		// hex's error would show a character of the secret.
		return nil, fmt.Errorf("secret file %s holds %d bytes that are not all hex digits (0-9, a-f): %s", path, want, damagedSecret)
	}
	return secret, nil
}

// damagedSecret says what to do about a secret file that holds no secret.
const damagedSecret = "restore it from a peer, or remove it to have a new secret made (and restart every peer)"

func linkRefused(path string) error {
	to := ""
	if target, err := os.Readlink(path); err == nil {
		to = " (to " + target + ")"
	}
	return fmt.Errorf("secret file %s is a symbolic link%s, which is not followed: replace the link with the file itself, or remove it to have a new secret made (and restart every peer)", path, to)
}

func notRegular(path string) error {
	return fmt.Errorf("secret file %s is not a regular file: remove it and a new secret is made", path)
}

// createSecretFile makes a new secret and publishes it at path, unless some
// other process got there first, and returns whichever secret is in place.
func createSecretFile(dataDir, path string) ([]byte, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder %s: %w", dataDir, err)
	}
	secret := make([]byte, secretSize)
	if _, err := rand.Read(secret); err != nil {
		return nil, fmt.Errorf("create secret %s: %w", path, err)
	}
	// The secret is written whole under a private name and then linked
	// into place. A link, unlike a rename, fails when the name exists, a
	// symbolic link included: of processes racing on first use exactly one
	// wins, no one can read a half-written file, and a link planted at the
	// name is left to readSecretFile to refuse.
	if _, err := atomicfile.Create(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		// A full disk or a read-only folder, on a first start: what the
		// write said names neither the folder nor the remedy.
		return nil, fmt.Errorf("create secret %s: %w: free some space in %s (or make it writable) and try again", path, err, dataDir)
	}
	// Read back rather than return our own: if another process won, its
	// secret is the one every peer will use.
	return readSecretFile(path)
}
