package auth

import (
	"bytes"
	"testing"
)

func TestNewNonce(t *testing.T) {
	a, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != NonceSize || len(b) != NonceSize {
		t.Fatalf("nonce sizes %d, %d; want %d", len(a), len(b), NonceSize)
	}
	if bytes.Equal(a, b) {
		t.Error("two nonces are equal")
	}
}

func TestProofRoundTrip(t *testing.T) {
	k := testKeys(t, "a")
	cn, bn := mustNonce(t), mustNonce(t)
	for _, role := range []Role{RoleBroker, RoleClient} {
		p := k.Proof(role, 1, cn, bn)
		if !k.VerifyProof(role, 1, cn, bn, p) {
			t.Errorf("%s proof refused", role)
		}
		// The peer computes the proof on its own, from its own copy of the keys.
		if !testKeys(t, "a").VerifyProof(role, 1, cn, bn, p) {
			t.Errorf("%s proof refused by a peer with the same secret", role)
		}
	}
}

func TestProofRefused(t *testing.T) {
	k := testKeys(t, "a")
	cn, bn := mustNonce(t), mustNonce(t)
	p := k.Proof(RoleBroker, 1, cn, bn)
	for _, tc := range []struct {
		name   string
		keys   Keys
		role   Role
		ver    int
		cn, bn []byte
		proof  []byte
	}{
		{"other role", k, RoleClient, 1, cn, bn, p},
		{"unknown role", k, "brokerx", 1, cn, bn, k.Proof("brokerx", 1, cn, bn)},
		{"other version", k, RoleBroker, 2, cn, bn, p},
		{"other client nonce", k, RoleBroker, 1, mustNonce(t), bn, p},
		{"other broker nonce", k, RoleBroker, 1, cn, mustNonce(t), p},
		{"nonces swapped", k, RoleBroker, 1, bn, cn, p},
		{"other key", testKeys(t, "b"), RoleBroker, 1, cn, bn, p},
		{"zero keys", Keys{}, RoleBroker, 1, cn, bn, p},
		{"truncated proof", k, RoleBroker, 1, cn, bn, p[:len(p)-1]},
		{"empty proof", k, RoleBroker, 1, cn, bn, nil},
		{"flipped bit", k, RoleBroker, 1, cn, bn, flip(p)},
		{"short client nonce", k, RoleBroker, 1, cn[:16], bn, k.Proof(RoleBroker, 1, cn[:16], bn)},
		{"long broker nonce", k, RoleBroker, 1, cn, append(bn, 0), k.Proof(RoleBroker, 1, cn, append(bn, 0))},
	} {
		if tc.keys.VerifyProof(tc.role, tc.ver, tc.cn, tc.bn, tc.proof) {
			t.Errorf("%s: proof accepted", tc.name)
		}
	}
}

func TestProofZeroKeys(t *testing.T) {
	if p := (Keys{}).Proof(RoleClient, 1, mustNonce(t), mustNonce(t)); p != nil {
		t.Errorf("zero Keys made a proof: %x", p)
	}
}

func mustNonce(t *testing.T) []byte {
	t.Helper()
	n, err := NewNonce()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func flip(b []byte) []byte {
	c := bytes.Clone(b)
	c[0] ^= 1
	return c
}

func BenchmarkProof(b *testing.B) {
	k := testKeys(b, "a")
	cn, bn := make([]byte, NonceSize), make([]byte, NonceSize)
	p := k.Proof(RoleBroker, 1, cn, bn)
	for b.Loop() {
		k.VerifyProof(RoleBroker, 1, cn, bn, p)
	}
}
