package election

import (
	"fmt"
	"strings"
)

// expandVars replaces the environment variables in s as a shell would:
// $NAME, ${NAME} and PowerShell's $env:NAME, and with percent %NAME% as
// cmd.exe does. A "$" or "%" that starts no variable is kept as it is. A
// variable that is not set, or is empty, is an error: expanded to
// nothing, "$MESH/ipcmesh" would become a folder at the root.
func expandVars(s string, getenv func(string) string, percent bool) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); {
		name, n := varAt(s[i:], percent)
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		v := getenv(name)
		if v == "" {
			return "", fmt.Errorf("%s is not set in this environment, so %s cannot be expanded (no shell did): set %s where the command or assistant starts, or give the whole path", name, s[i:i+n], name)
		}
		b.WriteString(v)
		i += n
	}
	return b.String(), nil
}

// varAt returns the name of the variable that s starts with and the
// length of its reference, or a length of 0 if s starts with none.
func varAt(s string, percent bool) (name string, n int) {
	switch {
	case strings.HasPrefix(s, "${"):
		end := strings.IndexByte(s, '}')
		if end > 2 && nameLen(s[2:end], false) == end-2 {
			return s[2:end], end + 1
		}
	case len(s) > 5 && strings.EqualFold(s[:5], "$env:"):
		if l := nameLen(s[5:], false); l > 0 {
			return s[5 : 5+l], 5 + l
		}
	case strings.HasPrefix(s, "$"):
		if l := nameLen(s[1:], false); l > 0 {
			return s[1 : 1+l], 1 + l
		}
	case percent && strings.HasPrefix(s, "%"):
		end := strings.IndexByte(s[1:], '%') + 1
		if end > 1 && nameLen(s[1:end], true) == end-1 {
			return s[1:end], end + 1
		}
	}
	return "", 0
}

// nameLen is the length of the variable name s starts with: a letter or
// "_", then letters, digits and "_", and with parens, "(" and ")" as in
// Windows' ProgramFiles(x86).
func nameLen(s string, parens bool) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && '0' <= c && c <= '9':
		case i > 0 && parens && (c == '(' || c == ')'):
		default:
			return i
		}
	}
	return len(s)
}
