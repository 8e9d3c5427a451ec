package auth

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// fuzzSeed fixes the secret of the fuzz keys: the corpus in
// testdata/fuzz/FuzzParseToken holds tokens signed with it.
const fuzzSeed = "ipcmesh fuzz"

func FuzzParseToken(f *testing.F) {
	k := testKeys(f, fuzzSeed)
	f.Add(k.SignToken(Token{Name: "fuzz", SessionID: "0123456789abcdef0123456789abcdef", Expires: time.Unix(1900000000, 0)}))
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := k.ParseToken(s)
		if err != nil {
			if ipcmesh.CodeOf(err) != ipcmesh.CodeUnauthorized {
				t.Fatalf("error %v has code %q, want %q", err, ipcmesh.CodeOf(err), ipcmesh.CodeUnauthorized)
			}
			if len(s) > 8 && strings.Contains(err.Error(), s) {
				t.Fatalf("error %q repeats the token", err)
			}
			return
		}
		if again := k.SignToken(tok); again != s {
			t.Fatalf("accepted %q, which signs again as %q", s, again)
		}
	})
}

// TestFuzzCorpus keeps the checked-in corpus honest: the entries named valid_*
// must parse, or the fuzzer would start from refused tokens only.
func TestFuzzCorpus(t *testing.T) {
	k := testKeys(t, fuzzSeed)
	dir := filepath.Join("testdata", "fuzz", "FuzzParseToken")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	valid := 0
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		header, arg, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		quoted, ok := strings.CutPrefix(arg, "string(")
		if header != "go test fuzz v1" || !ok {
			t.Fatalf("%s is not a go test fuzz v1 file with one string", e.Name())
		}
		s, err := strconv.Unquote(strings.TrimSuffix(quoted, ")"))
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		_, err = k.ParseToken(s)
		if want := strings.HasPrefix(e.Name(), "valid_"); (err == nil) != want {
			t.Errorf("%s: ParseToken error %v", e.Name(), err)
		}
		if err == nil {
			valid++
		}
	}
	if valid == 0 {
		t.Error("the corpus holds no valid token")
	}
}
