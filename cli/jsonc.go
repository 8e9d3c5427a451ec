package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// JSON with comments, as Gemini CLI reads its settings.json: // and /* */
// comments and trailing commas besides plain JSON. install merges into
// such a file and writes it back with its comments, each kept beside the
// setting it was written next to.

// document is a parsed config file: its value and the comments before and
// after it.
type document struct {
	head []string
	root any
	end  []string
}

// notes are the comments of one member of an object or element of a
// list: those on the lines before it, and one on its own line after it.
type notes struct {
	before []string
	after  string
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// parseConfig parses data as JSON or, with comments, as JSON with
// comments. Without comments, a comment or trailing comma is an error
// that says where it is.
func parseConfig(data []byte, comments bool) (*document, error) {
	// Windows PowerShell (Set-Content -Encoding UTF8, Out-File -Encoding
	// utf8) and older Notepad start a UTF-8 file with a byte order mark.
	// JSON has none, but RFC 8259 lets a reader skip one, and the file is
	// written back without it. UTF-16, which Windows PowerShell's > writes,
	// is no JSON a client reads: it is named, not taken for stray bytes.
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return nil, errors.New("it is UTF-16 text, as Windows PowerShell's > writes it; save it as UTF-8")
	}
	p := &jsoncParser{data: data, strict: !comments}
	d := &document{}
	var err error
	if d.head, err = p.space(); err != nil {
		return nil, err
	}
	if d.root, err = p.value(0); err != nil {
		return nil, err
	}
	same, rest, err := p.spaceAfter()
	if err != nil {
		return nil, err
	}
	d.end = append(same, rest...)
	if p.i < len(p.data) {
		return nil, p.errorf("more than one JSON value")
	}
	return d, nil
}

type jsoncParser struct {
	data   []byte
	i      int
	strict bool
}

func (p *jsoncParser) errorf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", p.line(), fmt.Sprintf(format, args...))
}

// line is the line p is at, counted from 1.
func (p *jsoncParser) line() int {
	return 1 + bytes.Count(p.data[:min(p.i, len(p.data))], []byte("\n"))
}

// space skips white space and returns the comments in it.
func (p *jsoncParser) space() ([]string, error) {
	same, rest, err := p.spaceAfter()
	return append(same, rest...), err
}

// spaceAfter skips white space and returns its comments: those that begin
// on the line it starts on, and the rest.
func (p *jsoncParser) spaceAfter() (same, rest []string, err error) {
	newline := false
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '\n':
			newline = true
			p.i++
		case c == ' ' || c == '\t' || c == '\r':
			p.i++
		case c == '/' && p.i+1 < len(p.data) && (p.data[p.i+1] == '/' || p.data[p.i+1] == '*'):
			if p.strict {
				return nil, nil, p.errorf("a comment, which plain JSON does not allow")
			}
			text, err := p.comment()
			if err != nil {
				return nil, nil, err
			}
			if newline {
				rest = append(rest, text)
			} else {
				same = append(same, text)
			}
		default:
			return same, rest, nil
		}
	}
	return same, rest, nil
}

// comment reads a comment at p.i and returns its text, // or /* included.
func (p *jsoncParser) comment() (string, error) {
	start := p.i
	if p.data[p.i+1] == '/' {
		end := p.i
		for end < len(p.data) && p.data[end] != '\n' {
			end++
		}
		p.i = end
		return strings.TrimRight(string(p.data[start:end]), "\r"), nil
	}
	end := strings.Index(string(p.data[p.i+2:]), "*/")
	if end < 0 {
		return "", p.errorf("a /* comment that never ends")
	}
	p.i += 2 + end + 2
	return string(p.data[start:p.i]), nil
}

func (p *jsoncParser) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, p.errorf("nested more than %d deep", maxDepth)
	}
	if p.i >= len(p.data) {
		return nil, p.errorf("unexpected end of the file")
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	for _, lit := range []struct {
		word string
		val  any
	}{{"true", true}, {"false", false}, {"null", nil}} {
		if strings.HasPrefix(string(p.data[p.i:min(len(p.data), p.i+5)]), lit.word) {
			p.i += len(lit.word)
			return lit.val, nil
		}
	}
	return nil, p.errorf("unexpected %q", p.data[p.i])
}

func (p *jsoncParser) str() (string, error) {
	start := p.i
	p.i++
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '\\':
			p.i += 2
		case c == '"':
			p.i++
			var s string
			if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
				p.i = start
				return "", p.errorf("bad string: %v", err)
			}
			return s, nil
		case c < 0x20:
			return "", p.errorf("a control character in a string")
		default:
			p.i++
		}
	}
	p.i = start
	return "", p.errorf("a string that never ends")
}

func (p *jsoncParser) number() (json.Number, error) {
	start := p.i
	for p.i < len(p.data) && strings.IndexByte("+-0123456789.eE", p.data[p.i]) >= 0 {
		p.i++
	}
	tok := p.data[start:p.i]
	if !json.Valid(tok) {
		p.i = start
		return "", p.errorf("bad number %q", tok)
	}
	return json.Number(tok), nil
}

// members parses the members of an object or the elements of a list, up
// to close, calling one for each (which returns comments from within the
// member, to go before it); it returns the notes of each and the comments
// before close.
func (p *jsoncParser) members(close byte, one func() ([]string, error)) (all []notes, tail []string, err error) {
	open, openLine := p.data[p.i], p.line()
	p.i++ // the opening bracket
	pending, err := p.space()
	if err != nil {
		return nil, nil, err
	}
	for {
		// A file cut short, or a bracket left out in a hand edit, ends
		// here: "want a key in quotes" would name no bracket.
		if p.i >= len(p.data) {
			return nil, nil, p.errorf("the file ends before the %q that closes the %q of line %d", close, open, openLine)
		}
		if p.data[p.i] == close {
			p.i++
			return all, pending, nil
		}
		inner, err := one()
		if err != nil {
			return nil, nil, err
		}
		n := notes{before: append(pending, inner...)}
		same, rest, err := p.spaceAfter()
		if err != nil {
			return nil, nil, err
		}
		if p.i < len(p.data) && p.data[p.i] == ',' {
			p.i++
			same2, rest2, err := p.spaceAfter()
			if err != nil {
				return nil, nil, err
			}
			if len(rest) == 0 {
				same, rest = append(same, same2...), rest2
			} else {
				rest = append(append(rest, same2...), rest2...)
			}
			if p.strict && p.i < len(p.data) && p.data[p.i] == close {
				return nil, nil, p.errorf("a comma before %q, which plain JSON does not allow", close)
			}
		} else if p.i < len(p.data) && p.data[p.i] != close {
			return nil, nil, p.errorf("want ',' or %q", close)
		}
		n.after = strings.Join(same, " ")
		all = append(all, n)
		pending = rest
	}
}

func (p *jsoncParser) object(depth int) (*object, error) {
	o := newObject()
	var keys []string
	var vals []any
	all, tail, err := p.members('}', func() ([]string, error) {
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, p.errorf("want a key in quotes")
		}
		k, err := p.str()
		if err != nil {
			return nil, err
		}
		between, err := p.space()
		if err != nil {
			return nil, err
		}
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, p.errorf("want ':' after the key %q", k)
		}
		p.i++
		more, err := p.space()
		if err != nil {
			return nil, err
		}
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		vals = append(vals, v)
		// Comments between a key and its value go before the member.
		return append(between, more...), nil
	})
	if err != nil {
		return nil, err
	}
	for i, k := range keys {
		o.set(k, vals[i])
		o.addNotes(k, all[i])
	}
	o.tail = tail
	return o, nil
}

func (p *jsoncParser) array(depth int) (*array, error) {
	a := &array{}
	all, tail, err := p.members(']', func() ([]string, error) {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		a.items = append(a.items, v)
		return nil, nil
	})
	if err != nil {
		return nil, err
	}
	a.notes, a.tail = all, tail
	return a, nil
}
