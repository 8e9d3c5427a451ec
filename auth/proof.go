package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
)

// Role is the side of a handshake a proof speaks for.
type Role string

// The two roles of a handshake.
const (
	RoleBroker Role = "broker"
	RoleClient Role = "client"
)

// NonceSize is the length of a handshake nonce in bytes.
const NonceSize = 32

// proofLabel opens every proof's MAC input, so a proof is never equal to a MAC
// over anything else made with the handshake key.
const proofLabel = "ipcmesh/v1 proof"

// NewNonce returns NonceSize random bytes for one handshake.
func NewNonce() ([]byte, error) {
	n := make([]byte, NonceSize)
	if _, err := rand.Read(n); err != nil {
		return nil, fmt.Errorf("make nonce: %w", err)
	}
	return n, nil
}

// Proof returns the proof that the holder of k speaks as role in the
// handshake of protocol version with the given nonces:
//
//	HMAC-SHA256(handshake key, field(proofLabel) || field(role) ||
//	            uint64be(version) || field(clientNonce) || field(brokerNonce))
//
// where field(x) is uint32be(len(x)) || x, so no two different inputs share a
// MAC input. The zero Keys returns nil.
func (k Keys) Proof(role Role, version int, clientNonce, brokerNonce []byte) []byte {
	if k.zero() {
		return nil
	}
	mac := hmac.New(sha256.New, k.handshake)
	writeField(mac, []byte(proofLabel))
	writeField(mac, []byte(role))
	mac.Write(binary.BigEndian.AppendUint64(nil, uint64(version)))
	writeField(mac, clientNonce)
	writeField(mac, brokerNonce)
	return mac.Sum(nil)
}

func writeField(h hash.Hash, b []byte) {
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(len(b))))
	h.Write(b)
}

// VerifyProof reports whether proof is the proof for role, version and the
// nonces, comparing in constant time. It is false for an unknown role, for
// nonces that are not NonceSize bytes long, and for the zero Keys.
func (k Keys) VerifyProof(role Role, version int, clientNonce, brokerNonce, proof []byte) bool {
	if k.zero() || (role != RoleBroker && role != RoleClient) ||
		len(clientNonce) != NonceSize || len(brokerNonce) != NonceSize {
		return false
	}
	return hmac.Equal(proof, k.Proof(role, version, clientNonce, brokerNonce))
}
