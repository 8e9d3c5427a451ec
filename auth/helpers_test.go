package auth

import (
	"crypto/sha256"
	"errors"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

// testKeys derives keys from a secret fixed by seed, so tests and the fuzz
// corpus can rely on the same tokens from run to run.
func testKeys(tb testing.TB, seed string) Keys {
	tb.Helper()
	secret := sha256.Sum256([]byte(seed))
	k, err := DeriveKeys(secret[:])
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func wantUnauthorized(tb testing.TB, err error) {
	tb.Helper()
	var e *ipcmesh.Error
	if !errors.As(err, &e) || e.Code != ipcmesh.CodeUnauthorized {
		tb.Fatalf("got error %v, want an *ipcmesh.Error with code %s", err, ipcmesh.CodeUnauthorized)
	}
}
