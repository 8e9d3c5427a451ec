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
	key := f.key("alice")
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
		// Not a message with the id "ack", and not GET either.
		{"GET", "/api/v1/messages/ack", 405, "bad_request", "POST"},
		{"PUT", "/api/v1/messages/ack", 405, "bad_request", "POST"},
		{"GET", "/api/v1/messages/0123456789abcdef/wait", 404, "not_found", ""},
		// Stateless /mcp takes POST alone: GET opens no stream, DELETE
		// ends no session, and a PUT is told the same.
		{"GET", "/mcp", 405, "bad_request", "POST"},
		{"DELETE", "/mcp", 405, "bad_request", "POST"},
		{"PUT", "/mcp", 405, "bad_request", "POST"},
	} {
		resp, b := f.do(req{method: c.method, path: c.path, key: key})
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

// TestRequiredFields checks that a body without the field a route needs
// is refused naming that field, where a send said only that "a name is
// required" and an ack of nothing answered 200 with "acked": 0.
func TestRequiredFields(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	for _, c := range []struct {
		path, body, field string
	}{
		{"/api/v1/messages", `{"content": "hello"}`, `"to"`},
		{"/api/v1/messages", `null`, `"to"`},
		{"/api/v1/messages/ack", `{}`, `"ids"`},
		{"/api/v1/messages/ack", `{"ids": null}`, `"ids"`},
	} {
		e := f.fails(req{method: "POST", path: c.path, key: key, body: c.body}, 400, "bad_request")
		if !strings.Contains(e.Error.Message, "field "+c.field+" is required") {
			t.Errorf("POST %s %s: %q does not name the field %s", c.path, c.body, e.Error.Message, c.field)
		}
	}
	// An empty list is a list: nothing to ack.
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: `{"ids": []}`}, 200, nil)
}

// TestMCPContentType checks that a POST to /mcp that is not sent as
// application/json is refused with a JSON 415 that names what it was sent
// as and the header to send, where the SDK answered plain text after the
// key's name was put online; and that a charset or capitals are no fault.
func TestMCPContentType(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	list := `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	accept := "application/json, text/event-stream"
	for ct, named := range map[string]string{
		"application/x-www-form-urlencoded": "as a form",
		"text/plain":                        `as "text/plain"`,
		"":                                  "with no Content-Type",
	} {
		resp, b := f.do(req{method: "POST", path: "/mcp", key: key, body: list, header: map[string]string{"Content-Type": ct, "Accept": accept}})
		var e apiError
		if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 415 || e.Error.Code != "bad_request" {
			t.Errorf("Content-Type %q: %d %q, want 415 with a JSON error bad_request", ct, resp.StatusCode, b)
			continue
		}
		if !strings.Contains(e.Error.Message, named) || !strings.Contains(e.Error.Message, "Content-Type: application/json") {
			t.Errorf("Content-Type %q: %q does not say it came %s and which to send", ct, e.Error.Message, named)
		}
	}
	var me struct{ Online bool }
	if f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me); me.Online {
		t.Errorf("alice is online after requests that were refused")
	}
	for _, ct := range []string{"application/json; charset=utf-8", "Application/JSON"} {
		resp, b := f.do(req{method: "POST", path: "/mcp", key: key, body: list, header: map[string]string{"Content-Type": ct, "Accept": accept}})
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"tools"`) {
			t.Errorf("Content-Type %q: %d %.200q, want the tools", ct, resp.StatusCode, b)
		}
	}
}

// TestTrailingSlash checks that an endpoint asked for with a trailing
// slash is answered 404 naming the endpoint without it, where the answer
// sent its client to /openapi.json to find what was wrong.
func TestTrailingSlash(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	for path, want := range map[string]string{
		"/api/v1/me/":           "send it to /api/v1/me, without the trailing slash",
		"/api/v1/messages//":    "send it to /api/v1/messages, without",
		"/api/v1/shared/notes/": "send it to /api/v1/shared/notes, without",
		"/api/v1/nothing/":      "/openapi.json lists them",
	} {
		e := f.fails(req{method: "GET", path: path, key: key}, 404, "not_found")
		if !strings.Contains(e.Error.Message, want) {
			t.Errorf("GET %s: %q, want it to say %q", path, e.Error.Message, want)
		}
	}
}
