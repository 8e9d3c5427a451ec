package gateway

import (
	"encoding/json"
	"errors"
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

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
)

// decodeBody reads the request's JSON object into dst, strictly: a field
// dst does not have, a value of the wrong type, a second value after the
// object or bad JSON is a bad_request that says which. An empty body is
// an error only when required; a body over the limit is too_large.
func decodeBody(r *http.Request, dst any, required bool) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
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

// bodyError turns a decoding error into a bad_request a person can act on.
func bodyError(err error, dst any) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
		mbe *http.MaxBytesError
	)
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, os.ErrDeadlineExceeded):
		return errBodyTimeout
	case errors.As(err, &syn):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body is not valid JSON: %v (at byte %d)", syn, syn.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body must be a JSON object with the fields %s, not a JSON %s", fieldList(dst), typ.Value)
		}
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "field %q of the request body must be a %s, not a JSON %s", typ.Field, jsonKind(typ.Type), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body ends in the middle of its JSON")
	}
	// encoding/json reports an unknown field only as text.
	if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "unknown field %s in the request body: this endpoint takes %s", f, fieldList(dst))
	}
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "the request body could not be read as JSON: %v", err)
}

// fieldList names the JSON fields of the struct dst points to.
func fieldList(dst any) string {
	t := reflect.TypeOf(dst)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return "(none)"
	}
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names = append(names, strconv.Quote(name))
		}
	}
	if len(names) == 0 {
		return "(none)"
	}
	return strings.Join(names, ", ")
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
