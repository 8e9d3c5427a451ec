package ipcmesh

import (
	"slices"
	"strings"
	"testing"
)

func TestNormalizeChannel(t *testing.T) {
	for in, want := range map[string]string{
		"#Auth Dev":   "auth-dev",
		"  auth_dev ": "auth-dev",
		"auth--dev":   "auth--dev",
		"AUTH":        "auth",
		"a  b__c":     "a-b-c",
	} {
		if got, err := NormalizeChannel(in); err != nil || got != want {
			t.Errorf("NormalizeChannel(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "#", "   ", "a/b", "../x", "ü", "x" + string(make([]byte, 40))} {
		if got, err := NormalizeChannel(bad); err == nil {
			t.Errorf("NormalizeChannel(%q) = %q, want an error", bad, got)
		}
	}
	// An empty name is asked for, not measured; a long one is measured
	// as the name it makes.
	for in, want := range map[string]string{
		"#":                       "a channel name is required: use 1-32 letters, digits, spaces, '_' or '-'",
		strings.Repeat("ab ", 12): `is 35 characters long: use at most 32 (a run of spaces or '_' counts as one '-')`,
	} {
		if _, err := NormalizeChannel(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NormalizeChannel(%q) = %v, want it to say %q", in, err, want)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "builder", "B-2_x", "abcdefghijklmnopqrstuvwxyz012345"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "../x", "a/b", "a b", "x\n", "abcdefghijklmnopqrstuvwxyz0123456"} {
		if err := ValidateName(bad); CodeOf(err) != CodeInvalidName {
			t.Errorf("ValidateName(%q) = %v, want invalid_name", bad, err)
		}
	}
}

// TestValidateNewName: a new name may not begin with '-', which command
// lines take for a flag; the error says what to type instead. Names the
// older rule let in stay valid for ValidateName.
func TestValidateNewName(t *testing.T) {
	for _, ok := range []string{"a", "builder", "b-", "_x", "B-2_x"} {
		if err := ValidateNewName(ok); err != nil {
			t.Errorf("ValidateNewName(%q): %v", ok, err)
		}
	}
	for name, want := range map[string]string{
		"-builder": `name "-builder" begins with '-', which command lines take for a flag: begin it with a letter, digit or '_' (builder, say)`,
		"--x":      `(x, say)`,
		"-":        `name "-" begins with '-'`,
		"a b":      `has ' '`,
	} {
		err := ValidateNewName(name)
		if CodeOf(err) != CodeInvalidName || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateNewName(%q) = %v, want invalid_name saying %q", name, err, want)
		}
		if name != "a b" && ValidateName(name) != nil {
			t.Errorf("ValidateName(%q) refuses a name made before the rule: %v", name, ValidateName(name))
		}
	}
}

// TestCheckContent: a body with no text in it, empty or only
// whitespace, is refused naming the message and what it held.
func TestCheckContent(t *testing.T) {
	for _, ok := range []string{"hi", " hi ", "\n.\n"} {
		if err := CheckContent("the message", ok); err != nil {
			t.Errorf("CheckContent(%q): %v", ok, err)
		}
	}
	for content, want := range map[string]string{
		"":           `the message to "bob" is empty: give it some content`,
		"   ":        `the message to "bob" holds only whitespace (3 bytes of spaces, tabs or line breaks): give it some content`,
		"\n\n\t\r\n": `holds only whitespace (5 bytes`,
		"\n":         `holds only whitespace (1 byte of`,
	} {
		err := CheckContent(`the message to "bob"`, content)
		if CodeOf(err) != CodeBadRequest || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckContent(%q) = %v, want bad_request saying %q", content, err, want)
		}
	}
}

func TestNearNames(t *testing.T) {
	got := NearNames("reveiwer", []string{"reviewer", "builder", "reveiwer"}, 3)
	if len(got) != 1 || got[0] != "reviewer" {
		t.Fatalf("NearNames = %v, want [reviewer]", got)
	}
	// Two neighbouring letters swapped are one slip, even in a short name.
	if got := NearNames("bbo", []string{"bob", "bin", "carol"}, 3); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("NearNames(bbo) = %v, want [bob]", got)
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"bob", "", 3},
		{"bob", "BOB", 0},
		{"bob", "bbo", 1},
		{"send", "sedn", 1},
		{"reviewer", "reveiwer", 1},
		{"ab", "ba", 1},
		{"abc", "ca", 3}, // no letter is swapped twice
		{"kitten", "sitting", 3},
		{"builder", "bulider", 1},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestValidateTypeAndKey(t *testing.T) {
	for _, ok := range append(Types(), "") {
		if err := ValidateType(ok); err != nil {
			t.Errorf("ValidateType(%q): %v", ok, err)
		}
	}
	if ValidateType("urgent") == nil {
		t.Error("ValidateType(urgent) passed")
	}
	// The types are listed as words, not as a Go slice, with the one
	// likely meant.
	want := `message type "req" is not one of message, request, response, status, handoff, done: did you mean request?`
	if err := ValidateType("req"); err == nil || err.Error() != want {
		t.Errorf("ValidateType(req) = %v, want %s", err, want)
	}
	// A key is at most 64 characters (SECURITY.md 3.10).
	for _, ok := range []string{"q1-report", "plan:v2", "a.b", strings.Repeat("k", 64)} {
		if err := ValidateSharedKey(ok); err != nil {
			t.Errorf("ValidateSharedKey(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", ".hidden", "a/b", "../x", strings.Repeat("k", 65)} {
		if ValidateSharedKey(bad) == nil {
			t.Errorf("ValidateSharedKey(%q) passed", bad)
		}
	}
}

func TestFileName(t *testing.T) {
	seen := map[string]string{}
	for name, want := range map[string]string{
		"builder": "builder",
		"Builder": "^builder",
		"BUILDER": "^b^u^i^l^d^e^r",
		"b-2_X":   "b-2_^x",
		// Windows opens these as devices, whatever the extension.
		"con":     "con~",
		"nul":     "nul~",
		"aux":     "aux~",
		"prn":     "prn~",
		"com1":    "com1~",
		"lpt9":    "lpt9~",
		"Con":     "^con",
		"NUL":     "^n^u^l",
		"com10":   "com10",
		"console": "console",
		"con-2":   "con-2",
	} {
		got := FileName(name)
		if got != want {
			t.Errorf("FileName(%q) = %q, want %q", name, got, want)
		}
		// No two names may meet on a file system that ignores case.
		if other, ok := seen[strings.ToLower(got)]; ok {
			t.Errorf("FileName(%q) and FileName(%q) differ only in case", name, other)
		}
		seen[strings.ToLower(got)] = name
		// Nor may a file name be a device of Windows.
		if IsWindowsDevice(got) {
			t.Errorf("FileName(%q) = %q, which Windows opens as a device", name, got)
		}
	}
}

// TestLookalikeNamedByCodePoint: a character outside ASCII that looks
// like a letter a name may hold (Cyrillic 'а', fullwidth 'ａ') is named
// by its code point in the refusal, which otherwise read "has 'а': use
// only letters", for a name that looked right. ASCII ones are not.
func TestLookalikeNamedByCodePoint(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ValidateName("\u0430lice"), "'\u0430' at position 1 (U+0430, which is not ASCII)"},
		{ValidateName("bob\uff41"), "(U+FF41, which is not ASCII)"},
		{func() error { _, err := NormalizeChannel("#\u0430uth"); return err }(), "has '\u0430' (U+0430, which is not ASCII)"},
		{ValidateSharedKey("cl\u00e9"), "has '\u00e9' (U+00E9, which is not ASCII)"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want it to say %q", tc.err, tc.want)
		}
	}
	if err := ValidateName("a/b"); err == nil || strings.Contains(err.Error(), "U+") {
		t.Errorf("an ASCII character is named by its code point: %v", err)
	}
}

func TestNotUTF8(t *testing.T) {
	for s, want := range map[string]int{
		"":                 -1,
		"plain":            -1,
		"héllo \uFFFD":     -1, // U+FFFD written as itself is UTF-8
		"ab\xff\xfecd":     2,
		"caf\xe9":          3, // Latin-1 é
		"\xe2\x82":         0, // a character cut short
		"ok \xc3\xa9 \x80": 6,
	} {
		if got := NotUTF8(s); got != want {
			t.Errorf("NotUTF8(%q) = %d, want %d", s, got, want)
		}
	}
}
