package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
)

// decodeBody reads the request's JSON object from body into dst,
// strictly: a field dst does not have, a value of the wrong type, a second
// value after the object, bad JSON or bytes that are not UTF-8 (body is
// a utf8Body) is a bad_request that says which. An empty body is
// an error only when required; a body over the limit is too_large.
func decodeBody(body io.Reader, dst any, required bool) error {
	body, err := withoutBOM(body)
	if err != nil {
		return bodyError(err, dst)
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err = dec.Decode(dst)
	if errors.Is(err, io.EOF) {
		if required {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body is empty: send a JSON object with the fields %s", fieldList(dst))
		}
		return nil
	}
	if err != nil {
		return bodyError(err, dst)
	}
	if err := dec.Decode(new(json.RawMessage)); !errors.Is(err, io.EOF) {
		if err != nil {
			return bodyError(err, dst)
		}
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body holds more than one JSON value: send one object")
	}
	return nil
}

// withoutBOM is body without the byte order mark it may start with. JSON
// is not to be sent with one, but RFC 8259 lets a reader ignore it, and
// Windows tools write one (PowerShell's Out-File and Set-Content with
// -Encoding utf8, Notepad's "UTF-8 with BOM"): refused, its sender was
// told of an invalid character 'ï', the Latin-1 reading of its first
// byte, which says nothing of the mark.
func withoutBOM(body io.Reader) (io.Reader, error) {
	var head [len(bom)]byte
	n, err := io.ReadFull(body, head[:])
	switch {
	case err == nil && string(head[:]) == bom:
		return body, nil
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF):
		return nil, err
	}
	return io.MultiReader(bytes.NewReader(head[:n]), body), nil
}

// bom is U+FEFF in UTF-8, the byte order mark.
const bom = "\uFEFF"

// notJSON begins the refusal of a body that is not JSON at all.
const notJSON = "the request body is not valid JSON"

// bodyError turns a decoding error into a bad_request a person can act on.
func bodyError(err error, dst any) error {
	var (
		syn  *json.SyntaxError
		typ  *json.UnmarshalTypeError
		mbe  *http.MaxBytesError
		bad  *notUTF8
		half *loneSurrogate
	)
	var refused *ipcmesh.Error // bodyBudget's, for a body sent in chunks
	switch {
	case errors.As(err, &refused):
		return refused
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	case errors.As(err, &bad):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"the request body is not UTF-8: byte %d is 0x%02X, which starts no UTF-8 character there (Latin-1 or Windows-1252 text, say): send the body as UTF-8, which JSON requires",
			bad.offset, bad.b)
	case errors.As(err, &half):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"the request body holds \\u%04x at byte %d, half of a UTF-16 surrogate pair without its other half (a string cut inside an emoji, say), which would be stored as U+FFFD: send whole characters",
			half.r, half.offset)
	case errors.As(err, &syn):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, notJSON+": %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" && fieldList(dst) == noFields {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "this endpoint takes no request body: send none, or {}, not a JSON %s", typ.Value)
		}
		if typ.Field == "" {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body must be a JSON object with the fields %s, not a JSON %s", fieldList(dst), typ.Value)
		}
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "field %q of the request body must be a %s, not a JSON %s", bodyField(dst, typ.Field), jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body ends in the middle of its JSON")
	}
	// encoding/json reports an unknown field only as text.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if fieldList(dst) == noFields {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "unknown field %s in the request body: this endpoint takes no request body: send none, or {}", f)
		}
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "unknown field %s in the request body: this endpoint takes %s", f, fieldList(dst))
	}
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body could not be read as JSON: %v", err)
}

// utf8Body passes a request body on and fails the read at the first byte
// that is not UTF-8. encoding/json would put U+FFFD in its place, and a
// message sent in another encoding would reach its reader changed, while
// its sender was told it was sent. It checks each piece as it is read,
// keeping the start of a character cut by the end of a read.
type utf8Body struct {
	r     io.Reader
	off   int64 // offset of the next byte read
	carry [utf8.UTFMax]byte
	nc    int // bytes in carry: a character not yet whole
	esc   escapes
}

// notUTF8 is where a body stops being UTF-8.
type notUTF8 struct {
	offset int64
	b      byte
}

func (e *notUTF8) Error() string {
	return fmt.Sprintf("byte %d (0x%02X) is not UTF-8", e.offset, e.b)
}

func (u *utf8Body) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if bad := u.check(p[:n]); bad != nil {
		return 0, bad
	}
	if err == io.EOF && u.nc > 0 {
		return n, &notUTF8{offset: u.off - int64(u.nc), b: u.carry[0]}
	}
	return n, err
}

// check checks p, the next bytes of the body.
func (u *utf8Body) check(p []byte) error {
	if err := u.esc.scan(p, u.off); err != nil {
		return err
	}
	start := u.off
	u.off += int64(len(p))
	if u.nc > 0 {
		// First the character the last read cut short.
		at := start - int64(u.nc)
		for u.nc < utf8.UTFMax && len(p) > 0 && !utf8.FullRune(u.carry[:u.nc]) {
			u.carry[u.nc] = p[0]
			u.nc++
			p = p[1:]
			start++
		}
		if !utf8.FullRune(u.carry[:u.nc]) {
			return nil // still cut short: p was all of it
		}
		if r, size := utf8.DecodeRune(u.carry[:u.nc]); r == utf8.RuneError && size <= 1 {
			return &notUTF8{offset: at, b: u.carry[0]}
		}
		u.nc = 0
	}
	// The last character of p may go on in the next read.
	tail := 0
	for k := 1; k < utf8.UTFMax && k <= len(p); k++ {
		if utf8.RuneStart(p[len(p)-k]) {
			if !utf8.FullRune(p[len(p)-k:]) {
				tail = k
			}
			break
		}
	}
	whole := p[:len(p)-tail]
	if !utf8.Valid(whole) {
		for i := 0; i < len(whole); {
			r, size := utf8.DecodeRune(whole[i:])
			if r == utf8.RuneError && size <= 1 {
				return &notUTF8{offset: start + int64(i), b: whole[i]}
			}
			i += size
		}
	}
	u.nc = copy(u.carry[:], p[len(p)-tail:])
	return nil
}

// escapes finds, in the JSON it is fed a piece at a time, a \u escape of
// half of a UTF-16 surrogate pair without the other half, such as the
// \ud83d a JavaScript client sends for a string cut inside an emoji.
// encoding/json would put U+FFFD in its place, as it does for a byte that
// is not UTF-8. Every byte it looks at is ASCII, so the bytes of a
// character cut between reads are nothing to it.
type escapes struct {
	state uint8 // 0: plain; 1: after a backslash; 2 to 5: in the hex digits of \u
	v     rune  // the hex digits read so far
	at    int64 // offset of the backslash of the escape being read
	high  bool  // a high surrogate was read: the escape of a low one must follow
	hi    rune  // that high surrogate
	hiAt  int64
}

// loneSurrogate is where a body holds half of a surrogate pair.
type loneSurrogate struct {
	offset int64
	r      rune
}

func (e *loneSurrogate) Error() string {
	return fmt.Sprintf("byte %d: \\u%04x is half of a UTF-16 surrogate pair", e.offset, e.r)
}

// scan reads p, the bytes of the body from offset off on.
func (e *escapes) scan(p []byte, off int64) error {
	for i := 0; i < len(p); i++ {
		if e.state == 0 && !e.high {
			// The common case: skip to the next escape.
			j := bytes.IndexByte(p[i:], '\\')
			if j < 0 {
				return nil
			}
			i += j
		}
		b := p[i]
		switch e.state {
		case 0:
			if b != '\\' {
				return &loneSurrogate{offset: e.hiAt, r: e.hi}
			}
			e.state, e.at = 1, off+int64(i)
		case 1:
			switch {
			case b == 'u':
				e.state, e.v = 2, 0
			case e.high:
				return &loneSurrogate{offset: e.hiAt, r: e.hi}
			default:
				e.state = 0 // \\, \n and the like
			}
		default:
			h, ok := hexDigit(b)
			if !ok {
				// Not JSON: the decoder says so.
				e.state, e.high = 0, false
				continue
			}
			e.v = e.v<<4 | h
			if e.state++; e.state < 6 {
				continue
			}
			e.state = 0
			switch low := e.v >= 0xDC00 && e.v <= 0xDFFF; {
			case e.high && low:
				e.high = false
			case e.high:
				return &loneSurrogate{offset: e.hiAt, r: e.hi}
			case low:
				return &loneSurrogate{offset: e.at, r: e.v}
			case e.v >= 0xD800 && e.v <= 0xDBFF:
				e.high, e.hi, e.hiAt = true, e.v, e.at
			}
		}
	}
	return nil
}

func hexDigit(b byte) (rune, bool) {
	switch {
	case b >= '0' && b <= '9':
		return rune(b - '0'), true
	case b >= 'a' && b <= 'f':
		return rune(b-'a') + 10, true
	case b >= 'A' && b <= 'F':
		return rune(b-'A') + 10, true
	}
	return 0, false
}

// noFields is fieldList's answer for a body with no fields.
const noFields = "(none)"

// fieldList names the JSON fields of the struct dst points to.
func fieldList(dst any) string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return noFields
	}
	var names []string
	for _, f := range reflect.VisibleFields(t) {
		if f.Anonymous {
			continue // its fields are listed as the body's own
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	if len(names) == 0 {
		return noFields
	}
	return strings.Join(names, ", ")
}

// bodyField is the path encoding/json gives a field of dst in its error,
// without the names of the structs dst embeds: a body's field is named
// as its sender wrote it ("content", not "Outgoing.content").
func bodyField(dst any, path string) string {
	t := reflect.TypeOf(dst)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	parts := strings.Split(path, ".")
	for len(parts) > 1 && t != nil && t.Kind() == reflect.Struct {
		f, ok := t.FieldByName(parts[0])
		if !ok || !f.Anonymous || f.Tag.Get("json") != "" {
			break
		}
		parts, t = parts[1:], f.Type
	}
	return strings.Join(parts, ".")
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint64, reflect.Uint32:
		return "whole number"
	case reflect.Slice, reflect.Array:
		return "JSON array"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "JSON " + t.Kind().String()
}

// query reads the URL query parameters of a request, which checkQuery
// has let through, keeping the first error so that a handler checks once.
type query struct {
	vals url.Values
	err  error
}

func (q *query) str(name string) string { return q.vals.Get(name) }

// checkQuery refuses a query the route does not take, rather than serve
// the request as if the query were not there: a parameter the route has
// no use for (a misspelt wait would answer at once, a misspelt limit
// with the default number), one given twice (which would count is a
// guess: a proxy in front may take the other) and a query that does not
// parse (a bad %-escape drops its parameter). It returns the query's
// values.
func (rt route) checkQuery(r *http.Request) (url.Values, error) {
	if r.URL.RawQuery == "" {
		return nil, nil
	}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"the query %q is not valid: %v: write it as NAME=VALUE pairs joined by &, with %%XX escapes", truncate(r.URL.RawQuery, 80), err)
	}
	var takes []string
	for _, p := range rt.query {
		takes = append(takes, p.name)
	}
	for _, name := range slices.Sorted(maps.Keys(vals)) {
		switch {
		case !slices.Contains(takes, name) && len(takes) == 0:
			return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
				"unknown query parameter %q: %s %s takes no query parameters", truncate(name, 40), rt.method, rt.path)
		case !slices.Contains(takes, name):
			return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
				"unknown query parameter %q: %s %s takes %s", truncate(name, 40), rt.method, rt.path, strings.Join(takes, ", "))
		case len(vals[name]) > 1:
			return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
				"query parameter %s is given %d times: give it once", name, len(vals[name]))
		}
	}
	return vals, nil
}

func (q *query) bad(name, v, want string) {
	if q.err == nil {
		q.err = ipcmesh.Errorf(ipcmesh.CodeBadRequest, "query parameter %s=%q: want %s", name, truncate(v, 40), want)
	}
}

// count reads a whole number of at least 0 (def when absent).
func (q *query) count(name string, def int) int {
	v := q.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		q.bad(name, v, "a whole number of at least 0")
		return def
	}
	return n
}

// seq reads a message seq (0 when absent).
func (q *query) seq(name string) uint64 {
	v := q.str(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		q.bad(name, v, "a message seq, a whole number")
	}
	return n
}

// duration reads a wait such as 30s, 2m or a number of seconds, capped at
// limit.
func (q *query) duration(name string, limit time.Duration) time.Duration {
	v := q.str(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, serr := strconv.ParseFloat(v, 64)
		switch {
		case serr != nil || math.IsNaN(secs):
			q.bad(name, v, "a duration such as 30s or 2m")
			return 0
		case secs < 0:
			q.bad(name, v, "a duration of at least 0")
			return 0
		case secs >= limit.Seconds():
			// Compared before the conversion, whose result for a
			// number past time.Duration's range depends on the CPU.
			return limit
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d < 0 {
		q.bad(name, v, "a duration of at least 0")
		return 0
	}
	return min(d, limit)
}

// time reads an RFC 3339 time, or a date (YYYY-MM-DD, midnight UTC), as a
// bound of a window of messages (human.Bound).
func (q *query) time(name string) time.Time {
	v := q.str(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		t, err = time.Parse(time.DateOnly, v)
	}
	if err != nil {
		q.bad(name, v, "an RFC 3339 time such as 2026-01-05T10:00:00Z, or a date such as 2026-01-05")
		return time.Time{}
	}
	return human.Bound(t)
}
