package auth

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestDeriveKeys(t *testing.T) {
	a := testKeys(t, "a")
	a2 := testKeys(t, "a")
	b := testKeys(t, "b")
	if !bytes.Equal(a.handshake, a2.handshake) || !bytes.Equal(a.token, a2.token) {
		t.Error("the same secret derived different keys")
	}
	if bytes.Equal(a.handshake, b.handshake) || bytes.Equal(a.token, b.token) {
		t.Error("two secrets derived the same key")
	}
	if bytes.Equal(a.handshake, a.token) {
		t.Error("the handshake and token keys are equal")
	}
	if len(a.handshake) != keySize || len(a.token) != keySize {
		t.Errorf("key sizes %d and %d, want %d", len(a.handshake), len(a.token), keySize)
	}
}

func TestDeriveKeysShortSecret(t *testing.T) {
	for _, n := range []int{0, 1, minSecretLen - 1} {
		if _, err := DeriveKeys(make([]byte, n)); err == nil {
			t.Errorf("%d-byte secret accepted", n)
		}
	}
}

func TestKeysDoNotPrint(t *testing.T) {
	k := testKeys(t, "a")
	var leaks []string
	for _, key := range [][]byte{k.handshake, k.token} {
		leaks = append(leaks,
			fmt.Sprintf("%x", key[:8]),
			fmt.Sprintf("%X", key[:8]),
			strings.Trim(fmt.Sprint(key[:8]), "[]"),
			fmt.Sprintf("%#x, %#x", key[0], key[1]))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%d", "%s", "%q"} {
		out := fmt.Sprintf(verb, k)
		for _, leak := range leaks {
			if strings.Contains(out, leak) {
				t.Errorf("Sprintf(%q, keys) = %q shows key bytes", verb, out)
			}
		}
	}
}
