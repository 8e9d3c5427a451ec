package ipcmesh

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxNameLen is the longest instance name the mesh accepts.
const MaxNameLen = 32

// ValidateName reports whether name can identify an instance: 1 to 32
// characters from [A-Za-z0-9_-]. The rule is strict on purpose: names become
// bucket keys and appear in file names and notifications, so nothing in them
// may steer a path or break a line.
func ValidateName(name string) error {
	if name == "" {
		return Errorf(CodeInvalidName, "a name is required: use 1-%d letters, digits, '_' or '-'", MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		if !nameByte(name[i]) {
			// Said in characters, not bytes: "héllo" has 'é' at
			// position 2, which is what its writer counts.
			r, _ := utf8.DecodeRuneInString(name[i:])
			return Errorf(CodeInvalidName, "name %q has %q at position %d%s: use only letters, digits, '_' or '-'", truncate(name, 40), r, utf8.RuneCountInString(name[:i])+1, notASCII(r))
		}
	}
	// Every byte is a character here, so the length in bytes is the
	// length in characters.
	if len(name) > MaxNameLen {
		return Errorf(CodeInvalidName, "name %q is %d characters long: use at most %d letters, digits, '_' or '-'", truncate(name, 40), len(name), MaxNameLen)
	}
	return nil
}

// ValidateNewName reports whether name can be taken as a new name:
// ValidateName's rule, and not beginning with '-'. A command line takes
// such a word for a flag, so every command that names it needs a "--"
// before it, and a name typed with a stray dash ("-reviewer") would
// otherwise become an instance of its own. Names made before the rule
// stay valid (ValidateName): only a name the mesh does not know yet is
// held to it.
func ValidateNewName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if name[0] != '-' {
		return nil
	}
	msg := fmt.Sprintf("name %q begins with '-', which command lines take for a flag: begin it with a letter, digit or '_'", name)
	if rest := strings.TrimLeft(name, "-"); rest != "" {
		msg += fmt.Sprintf(" (%s, say)", rest)
	}
	return &Error{Code: CodeInvalidName, Message: msg}
}

// ValidateNewChannel checks norm, a channel name as NormalizeChannel makes
// it, as the name of a new channel: it must begin with a letter or digit.
// "#-" and "#---" name nothing a person would mean, and "#--help" given
// without its '#' is a flag to the command line. Channels made before the
// rule keep their names.
func ValidateNewChannel(norm string) error {
	if norm == "" || norm[0] != '-' {
		return nil
	}
	msg := fmt.Sprintf("channel name %q begins with '-', which command lines take for a flag: begin it with a letter or digit", norm)
	if rest := strings.Trim(norm, "-"); rest != "" {
		msg += fmt.Sprintf(" (%s, say)", rest)
	}
	return &Error{Code: CodeInvalidName, Message: msg}
}

// FileName returns name as the stem of a file name that no other name
// shares, even on a file system that ignores case (macOS and Windows by
// default): each capital letter is written as '^' and the letter in lower
// case, so "Builder" is "^builder" and "builder" stays "builder". A name
// without capitals that Windows takes for a device (IsWindowsDevice) gets
// a '~' after it, "con" is "con~": there a file "con.token" is the
// console, not a file ("Con" is "^con", which is none). No name holds '^'
// or '~', so no two names meet. name must be valid (ValidateName).
func FileName(name string) string {
	if strings.IndexFunc(name, isUpper) < 0 {
		if IsWindowsDevice(name) {
			return name + "~"
		}
		return name
	}
	var b strings.Builder
	for _, r := range name {
		if isUpper(r) {
			b.WriteByte('^')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// IsWindowsDevice reports whether Windows opens a file whose name is stem,
// with any extension and in any case, as a device: CON, PRN, AUX, NUL,
// COM0 to COM9 and LPT0 to LPT9. Writing "nul.token" there writes
// nowhere, and reading "con.token" waits for the keyboard.
func IsWindowsDevice(stem string) bool {
	switch strings.ToLower(stem) {
	case "con", "prn", "aux", "nul":
		return true
	}
	if len(stem) == 4 && stem[3] >= '0' && stem[3] <= '9' {
		switch strings.ToLower(stem[:3]) {
		case "com", "lpt":
			return true
		}
	}
	return false
}

// notASCII names a character outside ASCII by its code point, for an
// error that refuses it: many look just like the ASCII letter a name may
// hold (Cyrillic 'а', fullwidth 'ａ'), and "has 'а': use only letters"
// alone reads as nonsense. It says nothing of an ASCII character.
func notASCII(r rune) string {
	if r < utf8.RuneSelf {
		return ""
	}
	return fmt.Sprintf(" (U+%04X, which is not ASCII)", r)
}

func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n-- // never cut a character in two
	}
	return s[:n] + "..."
}

// NormalizeChannel turns what a person types for a channel ("#Auth Dev",
// "auth_dev ") into its one name ("auth-dev"): trimmed, one leading '#'
// dropped, lower case, runs of spaces and underscores made one '-'. The
// result is 1 to 32 of [a-z0-9_-].
func NormalizeChannel(s string) (string, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "#")
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r == ' ' || r == '_' || r == '\t':
			sep = true
			continue
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-':
		default:
			return "", Errorf(CodeInvalidName, "channel name %q has %q%s: use letters, digits, spaces, '_' or '-'", truncate(s, 40), r, notASCII(r))
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		b.WriteRune(r)
	}
	name := b.String()
	if name == "" {
		return "", Errorf(CodeInvalidName, "a channel name is required: use 1-%d letters, digits, spaces, '_' or '-' (after the '#' of a recipient)", MaxNameLen)
	}
	if len(name) > MaxNameLen {
		return "", Errorf(CodeInvalidName, "channel name %q is %d characters long: use at most %d (a run of spaces or '_' counts as one '-')", truncate(s, 40), len(name), MaxNameLen)
	}
	return name, nil
}

// ValidateSharedKey checks a shared-data key: 1-64 of [A-Za-z0-9_.:-].
func ValidateSharedKey(key string) error {
	if key == "" {
		return Errorf(CodeBadRequest, "shared key %q must be 1-64 characters of letters, digits, '_', '.', ':' or '-'", key)
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !nameByte(c) && c != '.' && c != ':' {
			r, _ := utf8.DecodeRuneInString(key[i:]) // the character, not its first byte
			return Errorf(CodeBadRequest, "shared key %q has %q%s: use letters, digits, '_', '.', ':' or '-'", truncate(key, 70), r, notASCII(r))
		}
	}
	if len(key) > 64 {
		return Errorf(CodeBadRequest, "shared key %q must be 1-64 characters of letters, digits, '_', '.', ':' or '-'", truncate(key, 70))
	}
	if key[0] == '.' {
		return Errorf(CodeBadRequest, "shared key %q must not start with '.'", key)
	}
	return nil
}

// Distance is the edit distance between a and b, compared case
// insensitively, where an edit inserts, deletes or changes a letter or
// swaps two neighbouring ones (the optimal string alignment distance).
// It powers the "did you mean" suggestions for mistyped recipients, where
// names are short and the quadratic cost is negligible. A swap is one
// edit because it is one slip of the fingers: counted as two, "bbo" would
// be as far from "bob" as from "bin", and too far to be offered.
func Distance(a, b string) int {
	a, b = lower(a), lower(b)
	before := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)   // row i-1
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], before[j-2]+1)
			}
		}
		before, prev, cur = prev, cur, before
	}
	return prev[len(b)]
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// NearNames returns the names from candidates that are a likely typo of name:
// within edit distance 2 (1 for names of up to 4 characters), or equal but
// for case, closest first, at most max of them.
func NearNames(name string, candidates []string, max int) []string {
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	type near struct {
		name string
		d    int
	}
	var found []near
	for _, c := range candidates {
		if c == name {
			continue
		}
		if d := Distance(name, c); d <= limit {
			found = append(found, near{c, d})
		}
	}
	// Insertion sort: the list is tiny and the order must be stable.
	for i := 1; i < len(found); i++ {
		for j := i; j > 0 && found[j].d < found[j-1].d; j-- {
			found[j], found[j-1] = found[j-1], found[j]
		}
	}
	var out []string
	for _, f := range found {
		if len(out) == max {
			break
		}
		out = append(out, f.name)
	}
	return out
}

// FreeVariants proposes up to max names derived from name ("builder-2",
// "builder-3", ...) for which taken reports false, for a name_taken reply.
func FreeVariants(name string, taken func(string) bool, max int) []string {
	var out []string
	for i := 2; len(out) < max && i < 100; i++ {
		suffix := fmt.Sprintf("-%d", i)
		base := name
		if len(base)+len(suffix) > MaxNameLen {
			base = base[:MaxNameLen-len(suffix)]
		}
		if c := base + suffix; !taken(c) {
			out = append(out, c)
		}
	}
	return out
}
