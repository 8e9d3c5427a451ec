package auth

import (
	"bytes"
	"testing"
)

// FuzzVerifyProof checks the handshake proofs on arbitrary roles,
// versions, nonces and proofs: only the proof made for exactly these
// verifies, so that neither side can answer with the other's proof (a
// listener reflecting the client's own), nor a proof recorded from another
// handshake, version or order of nonces pass.
func FuzzVerifyProof(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzVerifyProof.
	k := testKeys(f, fuzzSeed)
	other := testKeys(f, fuzzSeed+" other")
	cn, bn := bytes.Repeat([]byte{1}, NonceSize), bytes.Repeat([]byte{2}, NonceSize)
	f.Add(string(RoleBroker), 1, cn, bn, k.Proof(RoleBroker, 1, cn, bn)) // one that verifies
	f.Fuzz(func(t *testing.T, role string, version int, cn, bn, proof []byte) {
		r := Role(role)
		known := r == RoleBroker || r == RoleClient
		sized := len(cn) == NonceSize && len(bn) == NonceSize
		if k.VerifyProof(r, version, cn, bn, proof) {
			if !known || !sized || !bytes.Equal(proof, k.Proof(r, version, cn, bn)) {
				t.Fatalf("VerifyProof(%q, %d, %x, %x) accepted %x", role, version, cn, bn, proof)
			}
		}
		if !known || !sized {
			if k.VerifyProof(r, version, cn, bn, k.Proof(r, version, cn, bn)) {
				t.Fatalf("VerifyProof(%q, %d, %x, %x) accepted its own proof", role, version, cn, bn)
			}
			return
		}
		p := k.Proof(r, version, cn, bn)
		if !k.VerifyProof(r, version, cn, bn, p) {
			t.Fatal("a proof does not verify")
		}
		mirror := RoleClient
		if r == RoleClient {
			mirror = RoleBroker
		}
		switch {
		case k.VerifyProof(mirror, version, cn, bn, p):
			t.Fatalf("a %s's proof passes for the %s's", r, mirror)
		case k.VerifyProof(r, version+1, cn, bn, p):
			t.Fatalf("a proof for version %d passes for version %d", version, version+1)
		case !bytes.Equal(cn, bn) && k.VerifyProof(r, version, bn, cn, p):
			t.Fatal("a proof passes with the nonces swapped")
		case other.VerifyProof(r, version, cn, bn, p):
			t.Fatal("a proof passes under another secret")
		case len(p) > 0 && k.VerifyProof(r, version, cn, bn, p[:len(p)-1]):
			t.Fatal("a truncated proof passes")
		}
	})
}
