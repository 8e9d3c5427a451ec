package auth

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"regexp"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/srccheck"
	"golang.org/x/crypto/argon2"
)

// A secret a person chose is stretched with argon2id as SECURITY.md 3.4
// says: time 2, 19 MiB, one thread, under the fixed salt. The figures are
// written out here rather than taken from the constants: a change of any
// of them is a change of the protocol (every peer must reach the same
// key), which this test makes someone notice.
func TestSecretStretchedAsDocumented(t *testing.T) {
	const chosen = "correct horse battery staple"
	got, _, err := LoadSecret(t.TempDir(), chosen)
	if err != nil {
		t.Fatal(err)
	}
	want := argon2.IDKey([]byte(chosen), []byte("ipcmesh/v1 shared secret"), 2, 19*1024, 1, 32)
	if !bytes.Equal(got, want) {
		t.Errorf("IPC_SHARED_SECRET stretched to %x, want argon2id(time 2, 19 MiB, 1 thread, salt \"ipcmesh/v1 shared secret\") = %x", got, want)
	}
}

// Every use of the secret has its own key, derived with HKDF-SHA256 under
// the label SECURITY.md 3.4 names, and no two uses share a key, so that a
// MAC made for one use is never valid for another: a handshake proof is no
// token, and neither is an access key.
func TestSubkeysAsDocumented(t *testing.T) {
	secret := sha256.Sum256([]byte("a"))
	k, err := DeriveKeys(secret[:])
	if err != nil {
		t.Fatal(err)
	}
	for label, got := range map[string][]byte{
		"ipcmesh/v1 handshake":     k.handshake,
		"ipcmesh/v1 session token": k.token,
		"ipcmesh/v1 access key":    k.access,
	} {
		want, err := hkdf.Key(sha256.New, secret[:], nil, label, 32)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("the key for %q is not HKDF-SHA256 of the secret under that label", label)
		}
	}
	if bytes.Equal(k.handshake, k.token) || bytes.Equal(k.handshake, k.access) || bytes.Equal(k.token, k.access) {
		t.Fatal("two uses share a key")
	}
}

// Proofs, token MACs and access key tags are compared in constant time
// (SECURITY.md 3.5, 4.8): a comparison that stops at the first byte that
// differs tells a guesser, by its time, how much of a guess was right.
func TestSecretsComparedInConstantTime(t *testing.T) {
	for _, fn := range []string{"Keys.VerifyProof", "Keys.ParseToken", "Keys.VerifyAccessKey"} {
		calls, err := srccheck.Calls(".", fn, "hmac.Equal")
		if err != nil {
			t.Fatal(err)
		}
		if !calls {
			t.Errorf("%s does not compare with hmac.Equal", fn)
		}
	}
	leaks, err := srccheck.VariableTime(".", regexp.MustCompile(`(?i)(mac|proof|tag)$`))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range leaks {
		t.Errorf("%s: a MAC, proof or tag compared in variable time; use hmac.Equal", l)
	}
}
