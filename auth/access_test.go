package auth

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
)

func TestAccessKeyBindsIDAndName(t *testing.T) {
	k := testKeys(t, "access")
	id := NewAccessKeyID()
	key := k.AccessKey(id, "human")
	if len(key) != AccessKeyLen || !strings.HasPrefix(key, "ipk1_") {
		t.Fatalf("key %q: want %d characters starting with ipk1_", key, AccessKeyLen)
	}
	if got, err := AccessKeyID(key); err != nil || got != id {
		t.Fatalf("AccessKeyID = %q, %v; want %q", got, err, id)
	}
	if !k.VerifyAccessKey(key, "human") {
		t.Fatal("a key does not verify for its own name")
	}
	if k.VerifyAccessKey(key, "builder") {
		t.Error("a key verifies for another name")
	}
	if testKeys(t, "other mesh").VerifyAccessKey(key, "human") {
		t.Error("a key verifies on a mesh with another secret")
	}
	if (Keys{}).VerifyAccessKey(key, "human") {
		t.Error("zero Keys verify a key")
	}
	// Every other id with the same tag fails: the tag covers the id.
	forged := key[:5] + NewAccessKeyID() + key[5+accessIDLen:]
	if k.VerifyAccessKey(forged, "human") {
		t.Error("a key with its id swapped verifies")
	}
	if a, b := NewAccessKeyID(), NewAccessKeyID(); a == b {
		t.Error("two new key ids are equal")
	}
}

func TestAccessKeyIDRefusesOtherShapes(t *testing.T) {
	k := testKeys(t, "access")
	good := k.AccessKey("0123456789abcdef", "human")
	for _, s := range []string{
		"",
		"Bearer " + good,
		good + "0",
		good[:len(good)-1],
		strings.ToUpper(good),
		strings.Replace(good, "_", "-", 1),
		"ipk1_0123456789abcdefX" + good[len(good)-32:],
		"ipk2" + good[4:],
		"v1.eyJuIjoiYSJ9.abc", // a session token is not an access key
	} {
		_, err := AccessKeyID(s)
		if ipcmesh.CodeOf(err) != ipcmesh.CodeUnauthorized {
			t.Errorf("AccessKeyID(%q) = %v, want unauthorized", s, err)
			continue
		}
		if len(s) > 8 && strings.Contains(err.Error(), s) {
			t.Errorf("error %q repeats the key", err)
		}
	}
}

func FuzzAccessKey(f *testing.F) {
	k := testKeys(f, fuzzSeed)
	f.Add(k.AccessKey("0123456789abcdef", "fuzz"), "fuzz")
	f.Add("ipk1_0123456789abcdef_0123456789abcdef0123456789abcdef", "a")
	f.Fuzz(func(t *testing.T, key, name string) {
		id, err := AccessKeyID(key)
		ok := k.VerifyAccessKey(key, name)
		if err != nil {
			if ok {
				t.Fatalf("%q verifies but has no id: %v", key, err)
			}
			return
		}
		if ok && k.AccessKey(id, name) != key {
			t.Fatalf("%q verifies for %q but is not the key of id %q", key, name, id)
		}
	})
}
