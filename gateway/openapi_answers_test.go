package gateway

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// answerChecker checks the face's answers against the schemas the OpenAPI
// document gives them, as a client generated from the document reads them.
type answerChecker struct {
	f       *face
	doc     openAPIWire
	defs    map[string]*jsonschema.Schema
	checked map[string]bool // patterns of routes whose answers were checked
}

// openAPIWire is the part of the served document the checker reads.
type openAPIWire struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Content map[string]struct {
				Schema json.RawMessage `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

func newAnswerChecker(f *face) *answerChecker {
	a := &answerChecker{f: f, defs: map[string]*jsonschema.Schema{}, checked: map[string]bool{}}
	f.ok(req{method: "GET", path: "/openapi.json"}, 200, &a.doc)
	for name, raw := range a.doc.Components.Schemas {
		a.defs[name] = a.schema(raw)
	}
	return a
}

// schema reads a schema of the document, its references to components
// made references to the $defs of the root it is checked under.
func (a *answerChecker) schema(raw json.RawMessage) *jsonschema.Schema {
	var s jsonschema.Schema
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(raw), "#/components/schemas/", "#/$defs/")), &s); err != nil {
		a.f.t.Fatalf("a schema of the document: %v", err)
	}
	return &s
}

// check sends r, wants status, and checks the answer against the schema
// the document gives the route's answer of that status (or its default).
// It returns the answer.
func (a *answerChecker) check(r req, status int) map[string]any {
	t := a.f.t
	t.Helper()
	_, pattern := a.f.srv.mux.Handler(httptest.NewRequest(r.method, r.path, nil))
	method, path, _ := strings.Cut(pattern, " ")
	op, ok := a.doc.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Fatalf("%s %s: the document has no operation %s", r.method, r.path, pattern)
	}
	resp, body := a.f.do(r)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d; body %s", r.method, r.path, resp.StatusCode, status, body)
	}
	res, ok := op.Responses[strconv.Itoa(status)]
	if !ok {
		res = op.Responses["default"]
	}
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	content, ok := res.Content[ct]
	if !ok {
		t.Fatalf("%s %s: the document gives the answer %d no content of type %s", r.method, r.path, status, ct)
	}
	root := a.schema(content.Schema)
	root.Defs = a.defs
	resolved, err := root.Resolve(nil)
	if err != nil {
		t.Fatalf("%s %s: resolve the schema of its answer %d: %v", r.method, r.path, status, err)
	}
	var answer map[string]any
	if err := json.Unmarshal(body, &answer); err != nil {
		t.Fatalf("%s %s: the answer %s is not a JSON object: %v", r.method, r.path, body, err)
	}
	if err := resolved.Validate(answer); err != nil {
		t.Errorf("%s %s: the answer %d does not fit the document: %v\n%s", r.method, r.path, status, err, body)
	}
	a.checked[pattern] = true
	return answer
}

// TestOpenAPIDescribesTheAnswers walks every route of the REST face, with
// a success and an error each, and checks every answer against the
// document: a client made from it (an OpenAPI generator, a ChatGPT
// action) reads a field the face does not send, or is refused one it
// sends, only if the two disagree.
func TestOpenAPIDescribesTheAnswers(t *testing.T) {
	f := newFace(t, nil)
	a := newAnswerChecker(f)
	alice, bob := f.key("alice"), f.key("bob")
	// The answer's id, the first message's.
	id := func(v map[string]any) string { return v["message"].(map[string]any)["id"].(string) }

	a.check(req{method: "GET", path: "/health"}, 200)
	a.check(req{method: "GET", path: "/api/v1/me", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/me"}, 401)
	a.check(req{method: "POST", path: "/api/v1/register", key: alice, body: statusBody{}}, 200)
	a.check(req{method: "POST", path: "/api/v1/register", key: bob}, 200)
	a.check(req{method: "POST", path: "/api/v1/register", key: alice, body: `{"name":"x"}`}, 400)

	sent := id(a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alice", Content: "hello", Type: "request"}}, 201))
	a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alise", Content: "queued, with a suggestion"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alice", Content: "once"}, header: map[string]string{"Idempotency-Key": "answers-1"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alice", Content: "once"}, header: map[string]string{"Idempotency-Key": "answers-1"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "bob", Content: "x"}}, 400)
	a.check(req{method: "GET", path: "/api/v1/messages?limit=1", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages?from=bob", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages?from=bbo", key: alice}, 200) // a note
	a.check(req{method: "GET", path: "/api/v1/messages?limit=x", key: alice}, 400)
	a.check(req{method: "GET", path: "/api/v1/messages/" + sent, key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages/nosuch", key: alice}, 404)
	long := id(a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alice", Content: strings.Repeat("<long>", 40_000)}}, 201))
	a.check(req{method: "GET", path: "/api/v1/messages/" + long, key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages/" + long + "?offset=100000", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages/" + long + "?offset=240001", key: alice}, 400)
	a.check(req{method: "POST", path: "/api/v1/messages/ack", key: alice, body: ackBody{IDs: []string{sent}}}, 200)
	a.check(req{method: "POST", path: "/api/v1/messages/ack", key: alice, body: ackBody{IDs: []string{sent}}}, 200) // a note
	a.check(req{method: "POST", path: "/api/v1/messages/ack", key: alice, body: "{}"}, 400)
	a.check(req{method: "POST", path: "/api/v1/broadcast", key: alice, body: broadcastBody{Content: "to all"}}, 200)
	a.check(req{method: "POST", path: "/api/v1/broadcast", key: alice, body: broadcastBody{}}, 400)
	a.check(req{method: "GET", path: "/api/v1/instances", key: alice}, 200)

	a.check(req{method: "POST", path: "/api/v1/channels", key: alice, body: ipc.ChannelCreateRequest{Name: "review", Description: "code review"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/channels", key: alice, body: ipc.ChannelCreateRequest{Name: "reviews", Private: true, Members: []string{"bob"}}}, 201)
	a.check(req{method: "POST", path: "/api/v1/channels", key: alice, body: ipc.ChannelCreateRequest{Name: "review"}}, 409)
	a.check(req{method: "GET", path: "/api/v1/channels?q=code", key: alice}, 200)
	a.check(req{method: "POST", path: "/api/v1/channels/review/join", key: bob}, 200)
	a.check(req{method: "POST", path: "/api/v1/channels/nowhere/join", key: bob}, 404)
	a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "#review", Content: "a post"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/channels/reviews/leave", key: bob}, 200)
	a.check(req{method: "POST", path: "/api/v1/channels/nowhere/leave", key: bob}, 404)
	a.check(req{method: "GET", path: "/api/v1/history?with=bob", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/history?with=bbo", key: alice}, 200) // a note
	a.check(req{method: "GET", path: "/api/v1/history?channel=review&limit=1", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/history", key: alice}, 400)

	a.check(req{method: "POST", path: "/api/v1/messages", key: alice, body: ipc.Outgoing{To: "bob", Content: "done", ReplyTo: sent, Type: "done"}}, 201)
	a.check(req{method: "GET", path: "/api/v1/threads/" + sent, key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/threads/nosuch", key: alice}, 404)
	a.check(req{method: "GET", path: "/api/v1/threads/" + sent + "/wait", key: bob}, 200)
	a.check(req{method: "GET", path: "/api/v1/threads/nosuch/wait", key: bob}, 404)

	a.check(req{method: "PUT", path: "/api/v1/shared/review:auth", key: alice, body: shareBody{Content: "notes", Description: "the review"}}, 200)
	a.check(req{method: "PUT", path: "/api/v1/shared/bad%20key", key: alice, body: shareBody{Content: "x"}}, 400)
	a.check(req{method: "GET", path: "/api/v1/shared", key: bob}, 200)
	a.check(req{method: "GET", path: "/api/v1/shared/review:auth", key: bob}, 200)
	a.check(req{method: "PUT", path: "/api/v1/shared/review:long", key: alice, body: shareBody{Content: strings.Repeat("<long>", 40_000)}}, 200)
	a.check(req{method: "GET", path: "/api/v1/shared/review:long?offset=100000", key: bob}, 200)
	a.check(req{method: "GET", path: "/api/v1/shared/review:long?offset=240001", key: bob}, 400)
	a.check(req{method: "GET", path: "/api/v1/shared/review:auht", key: bob}, 404)
	a.check(req{method: "GET", path: "/api/v1/search?q=hello", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/search?q=hello+-world&from=bbo", key: alice}, 200) // a note
	a.check(req{method: "GET", path: "/api/v1/search?q=hello&before=2&limit=1", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/search?q=hello&before=x", key: alice}, 400)
	a.check(req{method: "GET", path: "/api/v1/search", key: alice}, 400)
	a.check(req{method: "PUT", path: "/api/v1/status", key: alice, body: `{"status":"reviewing"}`}, 200)
	a.check(req{method: "PUT", path: "/api/v1/status", key: alice}, 400)

	for _, rt := range f.srv.routes {
		if p := rt.method + " " + rt.path; !a.checked[p] && rt.stream == "" {
			t.Errorf("no answer of %s was checked: add it to this walk", p)
		}
	}
}

// TestOpenAPIRequiredFieldsAreNotNull checks that no request body of the
// document lets a required field be null, which the face refuses as a
// field left out: AckRequest let ids be null, so a client made from the
// document could send {"ids": null} and be told ids is required.
func TestOpenAPIRequiredFieldsAreNotNull(t *testing.T) {
	f := newFace(t, nil)
	a := newAnswerChecker(f)
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
	}
	f.ok(req{method: "GET", path: "/openapi.json"}, 200, &doc)
	bodies := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if op.RequestBody == nil {
				continue
			}
			bodies++
			name := strings.TrimPrefix(op.RequestBody.Content["application/json"].Schema.Ref, "#/components/schemas/")
			s := a.defs[name]
			if s == nil {
				t.Fatalf("%s %s: its request body names no schema", method, path)
			}
			for _, field := range s.Required {
				if p := s.Properties[field]; p != nil && slices.Contains(p.Types, "null") {
					t.Errorf("%s %s: the required field %s of %s may be null, which the face refuses", method, path, field, name)
				}
			}
		}
	}
	if bodies == 0 {
		t.Fatal("the document has no request body")
	}
	key := f.key("alice")
	f.fails(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: `{"ids":null}`}, 400, "bad_request")
}

// TestOpenAPIAnswersHoldNoNull checks that the document lets no answer
// hold null, and that the face's answers with nothing in their lists fit
// it: the schema of every list said "null or array", though the face
// sends [], so a client made from the document (in TypeScript,
// messages: null | Message[]) tested for a null that never came.
func TestOpenAPIAnswersHoldNoNull(t *testing.T) {
	f := newFace(t, nil)
	a := newAnswerChecker(f)
	var nullable func(at string, raw json.RawMessage, seen map[string]bool)
	nullable = func(at string, raw json.RawMessage, seen map[string]bool) {
		var s map[string]json.RawMessage
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", at, err)
		}
		if ref, ok := s["$ref"]; ok {
			var name string
			json.Unmarshal(ref, &name)
			name = strings.TrimPrefix(name, "#/components/schemas/")
			if !seen[name] {
				seen[name] = true
				nullable(name, a.doc.Components.Schemas[name], seen)
			}
			return
		}
		if strings.Contains(string(s["type"]), `"null"`) {
			t.Errorf("%s may be null (type %s), which no answer holds", at, s["type"])
		}
		var props map[string]json.RawMessage
		json.Unmarshal(s["properties"], &props)
		for name, p := range props {
			nullable(at+"."+name, p, seen)
		}
		for _, k := range []string{"items", "additionalProperties"} {
			if sub, ok := s[k]; ok && sub[0] == '{' {
				nullable(at+"."+k, sub, seen)
			}
		}
	}
	answers, seen := 0, map[string]bool{}
	for path, ops := range a.doc.Paths {
		for method, op := range ops {
			for status, res := range op.Responses {
				if c, ok := res.Content["application/json"]; ok {
					answers++
					nullable(method+" "+path+" "+status, c.Schema, seen)
				}
			}
		}
	}
	if answers == 0 {
		t.Fatal("the document describes no JSON answer")
	}

	// Every list of these answers is empty: each must be [] to fit.
	alice := f.key("alice")
	a.check(req{method: "GET", path: "/api/v1/messages", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages?wait=1ms", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/channels", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/shared", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/search?q=nothing", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/history?with=bob", key: alice}, 200)
	a.check(req{method: "POST", path: "/api/v1/broadcast", key: alice, body: broadcastBody{Content: "anyone?"}}, 200)
	a.check(req{method: "POST", path: "/api/v1/channels", key: alice, body: ipc.ChannelCreateRequest{Name: "empty"}}, 201)
	a.check(req{method: "POST", path: "/api/v1/channels/empty/leave", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/channels", key: alice}, 200) // #empty has no members
	a.check(req{method: "GET", path: "/api/v1/history?channel=empty", key: alice}, 200)
	sent := a.check(req{method: "POST", path: "/api/v1/messages", key: alice, body: ipc.Outgoing{To: "bob", Content: "hello"}}, 201)
	id := sent["message"].(map[string]any)["id"].(string)
	a.check(req{method: "GET", path: "/api/v1/threads/" + id + "?after=" + strconv.Itoa(1<<30), key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/threads/" + id + "/wait", key: alice}, 200)
}

// TestOpenAPIMessageHasNoPath checks that the document's message has no
// path, which no answer holds (paths.go): it offered a GPT the file a
// large message is kept in, on a machine it cannot reach. The answers
// that hold a large message fit the document, which takes no field it
// does not name.
func TestOpenAPIMessageHasNoPath(t *testing.T) {
	f := newFace(t, nil)
	a := newAnswerChecker(f)
	if _, ok := a.defs["Message"].Properties["path"]; ok {
		t.Error("the document's Message has a path, which no answer holds")
	}
	alice, bob := f.key("alice"), f.key("bob")
	a.check(req{method: "POST", path: "/api/v1/register", key: alice}, 200)
	big := strings.Repeat("a large line of text\n", 1000) // 21 KB, over the 10 KB spill size
	sent := a.check(req{method: "POST", path: "/api/v1/messages", key: bob, body: ipc.Outgoing{To: "alice", Content: big}}, 201)
	m := sent["message"].(map[string]any)
	if m["large"] != true {
		t.Fatalf("the message was not spilled to a file: %v", m)
	}
	id := m["id"].(string)
	a.check(req{method: "GET", path: "/api/v1/messages", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/messages/" + id, key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/history?with=bob", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/search?from=bob", key: alice}, 200)
	a.check(req{method: "GET", path: "/api/v1/threads/" + id, key: alice}, 200)
}
