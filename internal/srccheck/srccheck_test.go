package srccheck

import (
	"regexp"
	"slices"
	"testing"
)

// The sample holds one comparison of each kind: two that leak time, and
// the literal, nil and constant-time ones that do not. Its test file is
// left out.
func TestVariableTime(t *testing.T) {
	got, err := VariableTime("testdata/sample", regexp.MustCompile(`(?i)^(mac|sessionid)$`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"testdata/sample/sample.go:19: bytes.Equal(... mac ...)",
		"testdata/sample/sample.go:19: sessionID != SessionID",
	}
	if !slices.Equal(got, want) {
		t.Errorf("VariableTime found\n%q\nwant\n%q", got, want)
	}
}

func TestCalls(t *testing.T) {
	for _, tc := range []struct {
		fn, want string
		calls    bool
	}{
		{"key.good", "hmac.Equal", true},
		{"plain", "subtle.ConstantTimeCompare", true},
		{"leaky", "hmac.Equal", false},
		{"good", "hmac.Equal", false}, // a method is named with its type
	} {
		got, err := Calls("testdata/sample", tc.fn, tc.want)
		if tc.fn == "good" {
			if err == nil {
				t.Errorf("Calls(%s) found a method by its bare name", tc.fn)
			}
			continue
		}
		if err != nil || got != tc.calls {
			t.Errorf("Calls(%s, %s) = %v, %v; want %v", tc.fn, tc.want, got, err, tc.calls)
		}
	}
	if _, err := Calls("testdata/none", "f", "g"); err == nil {
		t.Error("a missing folder gave no error")
	}
}

func TestUses(t *testing.T) {
	got, err := Uses("testdata/sample", "hmac.Equal")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"testdata/sample/sample.go:11"}; !slices.Equal(got, want) {
		t.Errorf("Uses(hmac.Equal) = %q, want %q", got, want)
	}
	if got, _ := Uses("testdata/sample", "bytes.Compare"); len(got) != 0 {
		t.Errorf("Uses(bytes.Compare) = %q, want none", got)
	}
}
