package auth

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestNewSessionID(t *testing.T) {
	a, err := NewSessionID()
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewSessionID()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a) {
		t.Errorf("session id %q is not 32 hex digits", a)
	}
	if a == b {
		t.Error("two session ids are equal")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	k := testKeys(t, "a")
	want := Token{Name: "builder-2", SessionID: "0123456789abcdef0123456789abcdef", Expires: time.Unix(1900000000, 0)}
	s := k.SignToken(want)
	if !strings.HasPrefix(s, "v1.") || strings.Count(s, ".") != 2 {
		t.Fatalf("token %q is not v1.PAYLOAD.MAC", s)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(payload), `{"n":"builder-2","s":"0123456789abcdef0123456789abcdef","x":1900000000}`; got != want {
		t.Errorf("payload = %s, want %s", got, want)
	}
	got, err := testKeys(t, "a").ParseToken(s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != want.Name || got.SessionID != want.SessionID || !got.Expires.Equal(want.Expires) {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
}

func TestTokenExpiryKeptToTheSecond(t *testing.T) {
	k := testKeys(t, "a")
	exp := time.Unix(1900000000, 999_000_000)
	got, err := k.ParseToken(k.SignToken(Token{Name: "a", SessionID: "s", Expires: exp}))
	if err != nil {
		t.Fatal(err)
	}
	if !got.Expires.Equal(time.Unix(1900000000, 0)) {
		t.Errorf("expires %v, want the second rounded down", got.Expires)
	}
}

func TestTokenRefused(t *testing.T) {
	k := testKeys(t, "a")
	good := k.SignToken(Token{Name: "builder", SessionID: "0123456789abcdef0123456789abcdef", Expires: time.Unix(1900000000, 0)})
	parts := strings.Split(good, ".")
	// A payload that says something else, signed with the right key but
	// under another payload's MAC.
	forged := k.SignToken(Token{Name: "admin", SessionID: "0123456789abcdef0123456789abcdef", Expires: time.Unix(1900000000, 0)})
	cases := map[string]string{
		"empty":              "",
		"garbage":            "not a token",
		"prefix only":        "v1.",
		"no mac":             "v1." + parts[1],
		"empty mac":          "v1." + parts[1] + ".",
		"other version":      "v2." + parts[1] + "." + parts[2],
		"extra part":         good + ".x",
		"tampered payload":   "v1." + tamper(parts[1]) + "." + parts[2],
		"tampered mac":       "v1." + parts[1] + "." + tamper(parts[2]),
		"swapped payload":    "v1." + strings.Split(forged, ".")[1] + "." + parts[2],
		"truncated mac":      good[:len(good)-2],
		"padded":             "v1." + parts[1] + "=." + parts[2],
		"newline in base64":  "v1." + parts[1][:4] + "\n" + parts[1][4:] + "." + parts[2],
		"trailing space":     good + " ",
		"overlong":           good + strings.Repeat("A", maxTokenLen),
		"overlong, no junk":  "v1." + strings.Repeat("A", maxTokenLen) + "." + parts[2],
		"wrong key":          testKeys(t, "b").SignToken(Token{Name: "builder", SessionID: "x", Expires: time.Unix(1900000000, 0)}),
		"invalid name":       k.SignToken(Token{Name: "../x", SessionID: "x", Expires: time.Unix(1900000000, 0)}),
		"empty name":         k.SignToken(Token{Name: "", SessionID: "x", Expires: time.Unix(1900000000, 0)}),
		"empty session":      k.SignToken(Token{Name: "builder", SessionID: "", Expires: time.Unix(1900000000, 0)}),
		"zero expiry":        k.SignToken(Token{Name: "builder", SessionID: "x"}),
		"non-canonical json": signPayload(k, `{"s":"x","n":"builder","x":1900000000}`),
		"unknown field":      signPayload(k, `{"n":"builder","s":"x","x":1900000000,"admin":true}`),
		"not json":           signPayload(k, `builder`),
	}
	for name, s := range cases {
		_, err := k.ParseToken(s)
		if err == nil {
			t.Errorf("%s: token accepted", name)
			continue
		}
		wantUnauthorized(t, err)
		if len(s) > 8 && strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q repeats the token", name, err)
		}
		if !strings.Contains(err.Error(), "register again") {
			t.Errorf("%s: error %q does not say what to do", name, err)
		}
	}
	if _, err := (Keys{}).ParseToken(good); err == nil {
		t.Error("zero Keys accepted a token")
	}
}

// signPayload signs an arbitrary payload, as a buggy signer might.
func signPayload(k Keys, payload string) string {
	return "v1." + b64.EncodeToString([]byte(payload)) + "." + b64.EncodeToString(k.tokenMAC([]byte(payload)))
}

// tamper changes the first character of a base64url string to another valid
// one.
func tamper(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

func TestTokenExpired(t *testing.T) {
	exp := time.Unix(1900000000, 0)
	tok := Token{Name: "a", SessionID: "s", Expires: exp}
	for _, tc := range []struct {
		now  time.Time
		want bool
	}{
		{exp.Add(-time.Second), false},
		{exp.Add(-time.Nanosecond), false},
		{exp, true},
		{exp.Add(time.Hour), true},
	} {
		if got := tok.Expired(tc.now); got != tc.want {
			t.Errorf("Expired(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}

func BenchmarkParseToken(b *testing.B) {
	k := testKeys(b, "a")
	s := k.SignToken(Token{Name: "builder", SessionID: "0123456789abcdef0123456789abcdef", Expires: time.Unix(1900000000, 0)})
	for b.Loop() {
		if _, err := k.ParseToken(s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSessionTagTellsSecretsApart(t *testing.T) {
	a, again, b := testKeys(t, "a"), testKeys(t, "a"), testKeys(t, "b")
	if a.SessionTag() == "" || a.SessionTag() != again.SessionTag() {
		t.Fatalf("tags of one secret: %q and %q, want the same, not empty", a.SessionTag(), again.SessionTag())
	}
	if a.SessionTag() == b.SessionTag() {
		t.Errorf("tags of two secrets are both %q", a.SessionTag())
	}
	if len(a.SessionTag()) != 8 {
		t.Errorf("tag %q, want 8 hex digits", a.SessionTag())
	}
	if (Keys{}).SessionTag() != "" {
		t.Error("the zero Keys has a tag")
	}
}
