package ipc

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a fresh random id for a message or request: 16 random bytes
// in hex. Clients make ids so that a retry carries the same one.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
