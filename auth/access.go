package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// An access key is a bearer key for the HTTP face, bound to one name:
//
//	ipk1_<id: 16 hex digits>_<tag: 32 hex digits>
//
// The tag is HMAC-SHA256 (truncated to 128 bits) over the id and the name,
// made with a key derived from the mesh secret. Only the id and the name
// are stored, by the broker, so a key can be checked and revoked but a copy
// of the store yields none. The prefix says what the string is, so a key
// pasted in the wrong place is recognised (and secret scanners can find
// leaked ones).
const (
	// AccessKeyPrefix starts every access key.
	AccessKeyPrefix = "ipk1_"
	accessIDLen     = 16
	accessTagLen    = 32
	// AccessKeyLen is the length of every access key.
	AccessKeyLen = len(AccessKeyPrefix) + accessIDLen + 1 + accessTagLen
)

// NewAccessKeyID returns a new random key id: 8 random bytes in hex.
func NewAccessKeyID() string {
	b := make([]byte, accessIDLen/2)
	rand.Read(b) // never fails: crypto/rand panics rather than return short
	return hex.EncodeToString(b)
}

// IsAccessKeyID reports whether s has the shape of a key id.
func IsAccessKeyID(s string) bool { return len(s) == accessIDLen && isLowerHex(s) }

// AccessKey returns the access key with id that acts as name.
func (k Keys) AccessKey(id, name string) string {
	return AccessKeyPrefix + id + "_" + hex.EncodeToString(k.accessTag(id, name))
}

func (k Keys) accessTag(id, name string) []byte {
	m := hmac.New(sha256.New, k.access)
	m.Write([]byte(AccessKeyPrefix))
	m.Write([]byte(id))
	m.Write([]byte{0}) // names never hold a 0 byte
	m.Write([]byte(name))
	return m.Sum(nil)[:accessTagLen/2]
}

// AccessKeyID returns the id of key, or an unauthorized error when key does
// not have the shape of an access key. It checks no MAC: that needs the
// name, which the record under the id holds.
func AccessKeyID(key string) (string, error) {
	id, tag, ok := splitAccessKey(key)
	if !ok || !isLowerHex(id) || !isLowerHex(tag) {
		return "", ipcmesh.Errorf(ipcmesh.CodeUnauthorized,
			"that is not an ipcmesh access key (want ipk1_ followed by 49 characters): make one with ipcmesh key create NAME")
	}
	return id, nil
}

// VerifyAccessKey reports whether key is the access key with its id for
// name. The comparison takes the same time wherever the keys differ.
func (k Keys) VerifyAccessKey(key, name string) bool {
	if k.zero() {
		return false
	}
	id, tag, ok := splitAccessKey(key)
	if !ok {
		return false
	}
	want := hex.EncodeToString(k.accessTag(id, name))
	return hmac.Equal([]byte(tag), []byte(want))
}

func splitAccessKey(key string) (id, tag string, ok bool) {
	rest, ok := strings.CutPrefix(key, AccessKeyPrefix)
	if !ok || len(key) != AccessKeyLen || rest[accessIDLen] != '_' {
		return "", "", false
	}
	return rest[:accessIDLen], rest[accessIDLen+1:], true
}

func isLowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
