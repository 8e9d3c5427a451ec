package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestEveryErrorIsJSON checks that a path or method the face does not
// serve is answered as every other error is (docs/HTTP.md, Errors): a
// JSON error with the mesh's code, and for a known path the methods it
// takes, not the ServeMux's plain text.
func TestEveryErrorIsJSON(t *testing.T) {
	f := newFace(t, nil)
	for _, c := range []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v2/messages", 404, "not_found", ""},
		{"GET", "/no/such/page", 404, "not_found", ""},
		{"POST", "/", 405, "bad_request", "GET"},
		{"PUT", "/openapi.json", 405, "bad_request", "GET"},
		{"DELETE", "/health", 405, "bad_request", "GET"},
		{"PUT", "/sse", 405, "bad_request", "GET, POST"},
		{"PATCH", "/api/v1/messages", 405, "bad_request", "GET, POST"},
	} {
		resp, b := f.do(req{method: c.method, path: c.path})
		var e apiError
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != c.status || e.Error.Code != c.code {
			t.Errorf("%s %s: %d %q, want %d with a JSON error %q", c.method, c.path, resp.StatusCode, b, c.status, c.code)
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Content-Type %q", c.method, c.path, resp.Header.Get("Content-Type"))
		}
		if got := resp.Header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q, want %q", c.method, c.path, got, c.allow)
		}
		if c.allow != "" && !strings.Contains(e.Error.Message, c.allow) {
			t.Errorf("%s %s: %q does not name the methods the path takes", c.method, c.path, e.Error.Message)
		}
	}
}
