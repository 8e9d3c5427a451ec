package auth

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// FuzzSecretFile gives LoadSecret a data folder whose secret file holds
// arbitrary bytes, with arbitrary group and other permission bits, or is
// a symbolic link to such a file, or a folder. The secret is the key to
// the whole mesh, and the file is one a person copies between machines
// and accounts, by hand: a damaged one must never be taken for a secret
// nor replaced by a new one (every peer that has the old one would be
// shut out), so LoadSecret either returns the 64 hex digits it holds,
// trimmed of the space around them, or an error that names the file and
// says what to do, in one line that shows none of what the file holds,
// and leaves the file as it was.
//
//	go test -run '^$' -fuzz '^FuzzSecretFile$' -fuzztime 60s ./auth/
func FuzzSecretFile(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzSecretFile.
	f.Fuzz(func(t *testing.T, data []byte, perm uint16, kind uint8) {
		dir := t.TempDir()
		path := SecretFile(dir)
		mode := os.FileMode(0o600 | perm&0o077)
		switch kind % 3 {
		case 0:
			writeMode(t, path, data, mode)
		case 1: // a link to such a file
			target := filepath.Join(t.TempDir(), "secret")
			writeMode(t, target, data, mode)
			if err := os.Symlink(target, path); err != nil {
				t.Skip(err) // a system where links need rights
			}
		case 2:
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		secret, src, err := LoadSecret(dir, "")

		text := bytes.TrimSpace(data)
		good := kind%3 == 0 && (mode.Perm()&0o077 == 0 || runtime.GOOS == "windows") && len(data) <= maxSecretFile &&
			len(text) == 64 && strings.Trim(strings.ToLower(string(text)), "0123456789abcdef") == ""
		if good {
			want, _ := hex.DecodeString(string(text))
			if err != nil || src != SourceFile || !bytes.Equal(secret, want) {
				t.Fatalf("the file holds %q: LoadSecret = %x, %q, %v; want %x", data, secret, src, err, want)
			}
		} else {
			if err == nil {
				t.Fatalf("the file (kind %d, mode %v) holds %q, and was taken for the secret %x", kind%3, mode, data, secret)
			}
			msg := err.Error()
			if !strings.Contains(msg, path) || !strings.Contains(msg, ": ") ||
				!(strings.Contains(msg, "remove it") || strings.Contains(msg, "chmod 600")) {
				t.Fatalf("the file (kind %d, mode %v) holds %q, and the error %q does not name it and say what to do", kind%3, mode, data, msg)
			}
			// What it says of the file is true of it.
			if plain := kind%3 == 0 && (mode.Perm()&0o077 == 0 || runtime.GOOS == "windows"); plain && len(data) > maxSecretFile {
				if !strings.Contains(msg, fmt.Sprintf("over %d bytes", maxSecretFile)) {
					t.Fatalf("the file holds %d bytes, and the error %q does not say it is over %d", len(data), msg, maxSecretFile)
				}
			} else if plain && len(text) != 64 && !strings.Contains(msg, fmt.Sprintf("holds %d ", len(text))) {
				t.Fatalf("the file holds %q, %d bytes trimmed, and the error says %q", data, len(text), msg)
			}
			if msg != untrusted.Line(msg) {
				t.Fatalf("the error %q is not one line of plain text", msg)
			}
			// The secret must not be read out in an error, in part or
			// whole: 8 hex digits of it are 32 bits.
			for i := 0; i+8 <= len(data); i++ {
				w := string(data[i : i+8])
				if strings.Trim(strings.ToLower(w), "0123456789abcdef") == "" && strings.Contains(msg, w) && !strings.Contains(path, w) {
					t.Fatalf("the error %q shows %q of what the file holds", msg, w)
				}
			}
		}
		if kind%3 != 2 {
			got, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(got, data) {
				t.Fatalf("the file held %q, and now %q (%v)", data, got, rerr)
			}
		}
	})
}

// writeMode writes data to path with mode, whatever the umask.
func writeMode(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}
