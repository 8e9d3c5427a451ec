package auth

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
	"io"
)

// The HKDF info labels, one per subkey, so no MAC made with one key can pass
// for a MAC made with another.
const (
	labelHandshake = "ipcmesh/v1 handshake"
	labelToken     = "ipcmesh/v1 session token"
	labelAccess    = "ipcmesh/v1 access key"
)

// keySize is the length of each derived key: the output size of SHA-256.
const keySize = sha256.Size

// minSecretLen is the shortest master secret DeriveKeys accepts (128 bits);
// LoadSecret always returns 32 bytes.
const minSecretLen = 16

// Keys holds the keys derived from the master secret. It is cheap to copy.
// The zero Keys proves, signs and verifies nothing: use DeriveKeys.
type Keys struct {
	handshake []byte
	token     []byte
	access    []byte
}

// Format prints a placeholder for every verb, so that keys logged by mistake
// (a config struct printed with %+v, say) show no key bytes.
func (Keys) Format(f fmt.State, _ rune) {
	io.WriteString(f, "auth.Keys{redacted}")
}

// zero reports whether k came from no secret.
func (k Keys) zero() bool {
	return len(k.handshake) == 0 || len(k.token) == 0 || len(k.access) == 0
}

// DeriveKeys derives the handshake key, the session token key and the key
// that signs access keys from the master secret with HKDF-SHA256. The secret
// must be at least 16 bytes long.
func DeriveKeys(secret []byte) (Keys, error) {
	if len(secret) < minSecretLen {
		return Keys{}, fmt.Errorf("derive keys: the secret is %d bytes long, want at least %d", len(secret), minSecretLen)
	}
	// No salt: the master secret is already uniformly random (from the file
	// or from argon2id), which is when RFC 5869 says a salt adds nothing.
	handshake, err := hkdf.Key(sha256.New, secret, nil, labelHandshake, keySize)
	if err != nil {
		return Keys{}, fmt.Errorf("derive handshake key: %w", err)
	}
	token, err := hkdf.Key(sha256.New, secret, nil, labelToken, keySize)
	if err != nil {
		return Keys{}, fmt.Errorf("derive session token key: %w", err)
	}
	access, err := hkdf.Key(sha256.New, secret, nil, labelAccess, keySize)
	if err != nil {
		return Keys{}, fmt.Errorf("derive access key key: %w", err)
	}
	return Keys{handshake: handshake, token: token, access: access}, nil
}
