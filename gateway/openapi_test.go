package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// notInOpenAPI are the mux's patterns the OpenAPI document leaves out on
// purpose: it describes the REST face, not the page, MCP or itself.
var notInOpenAPI = map[string]bool{
	"/api/v1/":          true, // the JSON 404/405 for unknown paths
	"/":                 true, // the same for every other path
	"GET /openapi.json": true,
	"GET /mcp":          true,
	"POST /mcp":         true,
	"DELETE /mcp":       true,
	"GET /sse":          true,
	"POST /sse":         true,
	"GET /{$}":          true,
	"GET /{file}":       true,
	"GET /static/":      true,
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	f := newFace(t, nil)
	resp, body := f.do(req{method: "GET", path: "/openapi.json", header: map[string]string{"X-Forwarded-Proto": "https"}})
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string `json:"openapi"`
		Info    struct{ Title, Version string }
		Servers []struct{ URL string }
		Paths   map[string]map[string]struct {
			OperationID string                `json:"operationId"`
			Description string                `json:"description"`
			Security    []map[string][]string `json:"security"`
			Parameters  []struct{ Name, In string }
			Responses   map[string]any
		}
		Components struct {
			Schemas         map[string]json.RawMessage
			SecuritySchemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("the document is not valid JSON: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Title == "" || doc.Info.Version != "test" {
		t.Errorf("openapi %q, info %+v", doc.OpenAPI, doc.Info)
	}
	if want := "https://" + strings.TrimPrefix(f.url, "http://"); len(doc.Servers) != 1 || doc.Servers[0].URL != want {
		t.Errorf("servers = %+v, want %s", doc.Servers, want)
	}
	if b := doc.Components.SecuritySchemes["bearer"]; b.Type != "http" || b.Scheme != "bearer" {
		t.Errorf("securitySchemes.bearer = %+v", b)
	}

	// Every operation of the document is a route of the table, which the
	// mux serves...
	registered := map[string]bool{}
	for _, rt := range f.srv.routes {
		registered[rt.method+" "+rt.path] = true
	}
	ids := map[string]bool{}
	camel := regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	for path, ops := range doc.Paths {
		for method, op := range ops {
			pattern := strings.ToUpper(method) + " " + path
			if !registered[pattern] || servedBy(f.srv.mux, pattern) != pattern {
				t.Errorf("the document has %s, which the mux does not serve", pattern)
			}
			delete(registered, pattern)
			if !camel.MatchString(op.OperationID) || ids[op.OperationID] {
				t.Errorf("%s: operationId %q is not camelCase or not unique", pattern, op.OperationID)
			}
			ids[op.OperationID] = true
			if op.Description == "" || len(op.Description) >= 300 {
				t.Errorf("%s: description of %d characters", pattern, len(op.Description))
			}
			api := strings.HasPrefix(path, "/api/v1/")
			if hasBearer := len(op.Security) == 1 && op.Security[0]["bearer"] != nil; hasBearer != api {
				t.Errorf("%s: security %v", pattern, op.Security)
			}
			if len(op.Responses) < 2 {
				t.Errorf("%s: responses %v, want success and default", pattern, op.Responses)
			}
			for _, m := range regexp.MustCompile(`\{(\w+)\}`).FindAllStringSubmatch(path, -1) {
				found := false
				for _, p := range op.Parameters {
					found = found || p.In == "path" && p.Name == m[1]
				}
				if !found {
					t.Errorf("%s: path parameter %s is not documented", pattern, m[1])
				}
			}
		}
	}
	// ...and every route of the table is in the document. The mux's other
	// patterns are those it leaves out on purpose.
	for p := range registered {
		t.Errorf("the mux serves %s, which the document lacks", p)
	}
	for p := range notInOpenAPI {
		if got := servedBy(f.srv.mux, p); got != p {
			t.Errorf("notInOpenAPI has %s, but the mux serves its path with %q", p, got)
		}
	}
	if len(ids) != len(f.srv.routes) {
		t.Errorf("the document has %d operations, the table %d routes", len(ids), len(f.srv.routes))
	}

	// Every reference resolves.
	for _, m := range regexp.MustCompile(`"\$ref":"#/components/schemas/([^"]+)"`).FindAllStringSubmatch(string(body), -1) {
		if doc.Components.Schemas[m[1]] == nil {
			t.Errorf("$ref to the missing schema %s", m[1])
		}
	}
	if !strings.Contains(string(doc.Components.Schemas["SendRequest"]), `"reply_to"`) {
		t.Errorf("SendRequest schema = %s", doc.Components.Schemas["SendRequest"])
	}
}

// servedBy is the pattern mux serves a request for pattern with: its
// method (PATCH, which no route takes, if it has none) and its path, a
// wildcard standing for one segment.
func servedBy(mux *http.ServeMux, pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodPatch, pattern
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{[^}]*\}`).ReplaceAllString(path, "x")
	_, got := mux.Handler(httptest.NewRequest(method, path, nil))
	return got
}

func TestOpenAPIRefusesBadTables(t *testing.T) {
	good := route{method: "GET", path: "/api/v1/x/{id}", op: "getX", desc: "x", pathParams: []param{idParam()}}
	if _, err := buildOpenAPI([]route{good}, "v"); err != nil {
		t.Fatalf("a good table: %v", err)
	}
	for name, bad := range map[string][]route{
		"snake id":       {{method: "GET", path: "/a", op: "get_x", desc: "x"}},
		"duplicate id":   {{method: "GET", path: "/a", op: "getX", desc: "x"}, {method: "GET", path: "/b", op: "getX", desc: "x"}},
		"long desc":      {{method: "GET", path: "/a", op: "getX", desc: strings.Repeat("x", 300)}},
		"undocumented":   {{method: "GET", path: "/a/{id}", op: "getX", desc: "x"}},
		"no description": {{method: "GET", path: "/a", op: "getX"}},
		"long summary":   {{method: "GET", path: "/a", op: "getX", desc: "x", summary: strings.Repeat("x", 300)}},
		"long parameter": {{method: "GET", path: "/a", op: "getX", desc: "x", query: []param{{name: "q", typ: "string", desc: strings.Repeat("x", 700)}}}},
		"body as answer": {{method: "PUT", path: "/a", op: "putX", desc: "x", body: schemaOf[statusBody]("X"), result: schemaOf[statusBody]("X")}},
	} {
		if _, err := buildOpenAPI(bad, "v"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestOpenAPIFitsChatGPTActions checks the document against what a
// ChatGPT action does with it: the model takes its words and examples as
// they are, and a call of its is cut off after 45 seconds. A wait the
// document gives as an example (it said 2m for a reply) or lets pass
// unremarked ended in an error for the GPT, and a stream that never ends
// is no call for it at all. An operation not marked otherwise is one whose
// every call the user confirms.
func TestOpenAPIFitsChatGPTActions(t *testing.T) {
	f := newFace(t, nil)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID   string `json:"operationId"`
			Description   string `json:"description"`
			Consequential *bool  `json:"x-openai-isConsequential"`
			Parameters    []struct{ Name, Description string }
			Responses     map[string]struct {
				Content map[string]any `json:"content"`
			}
		}
	}
	f.ok(req{method: "GET", path: "/openapi.json"}, 200, &doc)
	example := regexp.MustCompile(`e\.g\. (\S+?)[ ,;)]`)
	waits := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			// Not said, every call but a GET is one the user confirms
			// each time, an ack of mail read included.
			if op.Consequential == nil || *op.Consequential {
				t.Errorf("%s %s: x-openai-isConsequential is %v, want false, so that the user may allow its calls for good", method, path, op.Consequential)
			}
			for _, p := range op.Parameters {
				if p.Name != "wait" {
					continue
				}
				waits++
				// Absent, a wait is none: waitForReply said it waited for
				// the first reply, and a GPT that gave no wait got an
				// empty answer at once.
				if !strings.Contains(p.Description, "absent, the answer comes at once") {
					t.Errorf("%s %s: wait %q does not say that without it the answer comes at once", method, path, p.Description)
				}
				m := example.FindStringSubmatch(p.Description)
				if m == nil {
					t.Errorf("%s %s: wait %q gives no example", method, path, p.Description)
					continue
				}
				if d, err := time.ParseDuration(m[1]); err != nil || d > 40*time.Second {
					t.Errorf("%s %s: wait's example %s is past what a ChatGPT action can wait", method, path, m[1])
				}
				if !strings.Contains(p.Description, "ChatGPT action at most 40s") {
					t.Errorf("%s %s: wait %q does not say how long a ChatGPT action may wait", method, path, p.Description)
				}
			}
			if _, stream := op.Responses["200"].Content["text/event-stream"]; stream && !strings.Contains(op.Description, "ChatGPT action uses checkMessages") {
				t.Errorf("%s %s: a stream that never ends, and its description %q does not steer a ChatGPT action away", method, path, op.Description)
			}
		}
	}
	if waits != 2 {
		t.Errorf("%d wait parameters, want the 2 of checkMessages and waitForReply", waits)
	}
}

// TestOpenAPIMadeOnce checks that /openapi.json, which anyone may ask for
// without a key, serves the document made once, with the request's own
// origin as its server: made anew for every request it took thousands of
// allocations (470 KB, 2.6 ms), a cheap way to keep the face busy.
func TestOpenAPIMadeOnce(t *testing.T) {
	f := newFace(t, nil)
	for _, c := range []struct{ host, proto, want string }{
		{"127.0.0.1:8080", "", "http://127.0.0.1:8080"},
		{"mesh.example.com", "https", "https://mesh.example.com"},
		{"[::1]:9", "", "http://[::1]:9"},
	} {
		r := httptest.NewRequest("GET", "/openapi.json", nil)
		r.Host = c.host
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		w := httptest.NewRecorder()
		f.srv.serveOpenAPI(w, r)
		doc, err := buildOpenAPI(f.srv.routes, "test")
		if err != nil {
			t.Fatal(err)
		}
		doc.Servers = []openAPIServer{{URL: c.want}}
		want, _ := json.Marshal(doc)
		if !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("Host %s: the document served is not the document with server %s", c.host, c.want)
		}
	}
	r := httptest.NewRequest("GET", "/openapi.json", nil)
	if n := testing.AllocsPerRun(50, func() { f.srv.serveOpenAPI(httptest.NewRecorder(), r) }); n > 100 {
		t.Errorf("serving the document takes %.0f allocations: it is made anew for each request", n)
	}
}

// A proxy that passes the face the address it forwards to as Host (nginx
// does by default) names the public host in X-Forwarded-Host: the
// document's server is that one when --allow-host names it, since a
// ChatGPT action calls the server the document gives, and it cannot
// reach 127.0.0.1. A name --allow-host does not give is the client's own
// word, and the Host stays the server.
func TestOpenAPIServerBehindAProxy(t *testing.T) {
	f := newFace(t, func(o *Options) { o.AllowHosts = []string{"mesh.example.com"} })
	for _, c := range []struct{ fwd, want string }{
		{"mesh.example.com", "https://mesh.example.com"},
		{"Mesh.Example.com:443, 10.0.0.7", "https://Mesh.Example.com:443"},
		{"evil.example.net", "https://" + strings.TrimPrefix(f.url, "http://")},
		// An allowed name with more after it is no host: a URL made of
		// it would send the calls, and the key, elsewhere.
		{"mesh.example.com:@evil.example", "https://" + strings.TrimPrefix(f.url, "http://")},
		{"mesh.example.com:443/evil", "https://" + strings.TrimPrefix(f.url, "http://")},
		{"mesh.example.com:443#evil", "https://" + strings.TrimPrefix(f.url, "http://")},
		{"", "https://" + strings.TrimPrefix(f.url, "http://")},
	} {
		h := map[string]string{"X-Forwarded-Proto": "https"}
		if c.fwd != "" {
			h["X-Forwarded-Host"] = c.fwd
		}
		resp, body := f.do(req{method: "GET", path: "/openapi.json", header: h})
		var doc struct{ Servers []struct{ URL string } }
		if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /openapi.json with X-Forwarded-Host %q: %d, %v", c.fwd, resp.StatusCode, err)
		}
		if len(doc.Servers) != 1 || doc.Servers[0].URL != c.want {
			t.Errorf("X-Forwarded-Host %q: servers %+v, want %s", c.fwd, doc.Servers, c.want)
		}
	}
}

// TestOpenAPIRefusesNoHost: a face on a public address takes any Host
// net/http lets through, but the document names none that is not a host
// and nothing more: "http://%6desh.example.com" is no URL a client reads,
// nor is "http://" or "http://::1".
func TestOpenAPIRefusesNoHost(t *testing.T) {
	f := newFace(t, nil)
	for _, host := range []string{"", "::1", "%6desh.example.com", "[fe80::1%25en0]:9877"} {
		r := httptest.NewRequest("GET", "/openapi.json", nil)
		r.Host = host
		w := httptest.NewRecorder()
		f.srv.serveOpenAPI(w, r)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "is not a host name") {
			t.Errorf("Host %q: %d %.200s, want 400 saying the Host is no host", host, w.Code, w.Body)
		}
	}
}
