package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/ipcmesh/ipcmesh"
)

// openAPIDoc is the OpenAPI 3.1 document of the REST face, made from the
// route table at New. Only servers differs between requests: it is the
// origin the request came to, so a client (ChatGPT Actions, say) that
// fetched the document calls the face by the same address.
type openAPIDoc struct {
	OpenAPI    string                           `json:"openapi"`
	Info       openAPIInfo                      `json:"info"`
	Servers    []openAPIServer                  `json:"servers"`
	Paths      map[string]map[string]*operation `json:"paths"`
	Components openAPIComponents                `json:"components"`
}

type openAPIInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type openAPIServer struct {
	URL string `json:"url"`
}

type openAPIComponents struct {
	Schemas         map[string]*jsonschema.Schema `json:"schemas"`
	SecuritySchemes map[string]securityScheme     `json:"securitySchemes"`
}

type securityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description"`
}

type operation struct {
	OperationID string                `json:"operationId"`
	Summary     string                `json:"summary"`
	Description string                `json:"description"`
	Parameters  []openAPIParam        `json:"parameters,omitempty"`
	RequestBody *requestBody          `json:"requestBody,omitempty"`
	Responses   map[string]response   `json:"responses"`
	Security    []map[string][]string `json:"security"`
	// Consequential is false for every operation of the face. A ChatGPT
	// action takes an operation that does not say as consequential
	// unless it is a GET, and asks the user to confirm every call of it,
	// with no way to allow it for good: each ack of mail read, each send,
	// each status line. Said false, the first call is confirmed and the
	// user may allow the rest. No operation here is one a user would
	// want to confirm each time: they send and file messages.
	Consequential bool `json:"x-openai-isConsequential"`
}

type openAPIParam struct {
	Name        string         `json:"name"`
	In          string         `json:"in"`
	Description string         `json:"description"`
	Required    bool           `json:"required"`
	Schema      map[string]any `json:"schema"`
}

type requestBody struct {
	Required bool                 `json:"required"`
	Content  map[string]mediaType `json:"content"`
}

type mediaType struct {
	Schema *jsonschema.Schema `json:"schema"`
}

type response struct {
	Description string               `json:"description"`
	Content     map[string]mediaType `json:"content,omitempty"`
}

// ChatGPT Actions' limits on an operation's description and summary, and
// on a parameter's description.
const (
	maxDescription      = 300
	maxParamDescription = 700
)

// operationIDs are camelCase words: what ChatGPT Actions accept.
var operationIDs = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

var pathParams = regexp.MustCompile(`\{([^}]+)\}`)

// buildOpenAPI describes routes. It refuses a table that would make a
// document clients reject, so a bad route fails every test at once.
func buildOpenAPI(routes []route, version string) (*openAPIDoc, error) {
	doc := &openAPIDoc{
		OpenAPI: "3.1.0",
		Info: openAPIInfo{
			Title:   "ipcmesh",
			Version: version,
			Description: "The HTTP face of an ipcmesh mesh: send and read messages, channels, threads, shared entries and search, " +
				"acting as the name the bearer key is bound to.",
		},
		Paths: map[string]map[string]*operation{},
		Components: openAPIComponents{
			Schemas: map[string]*jsonschema.Schema{},
			SecuritySchemes: map[string]securityScheme{
				"bearer": {Type: "http", Scheme: "bearer", Description: "an ipcmesh access key (ipcmesh key create NAME)"},
			},
		},
	}
	sc, err := newSchemas(doc.Components.Schemas)
	if err != nil {
		return nil, err
	}
	errRef, err := sc.ref("Error", reflect.TypeFor[errorBody]())
	if err != nil {
		return nil, err
	}
	answers := []string{refName(errRef)}
	seen := map[string]bool{}
	for _, rt := range routes {
		if !operationIDs.MatchString(rt.op) || seen[rt.op] {
			return nil, fmt.Errorf("gateway: route %s %s: operationId %q is not camelCase or not unique", rt.method, rt.path, rt.op)
		}
		seen[rt.op] = true
		if len(rt.desc) >= maxDescription || rt.desc == "" || len(rt.summary) >= maxDescription {
			return nil, fmt.Errorf("gateway: route %s %s: its description must have 1 to %d characters, its summary fewer", rt.method, rt.path, maxDescription-1)
		}
		op := &operation{
			OperationID: rt.op,
			Summary:     rt.summary,
			Description: rt.desc,
			Responses:   map[string]response{"default": {Description: "an error: its code says which (docs/HTTP.md)", Content: jsonContent(errRef)}},
			Security:    []map[string][]string{{"bearer": {}}},
		}
		if rt.public {
			op.Security = []map[string][]string{}
		}
		if op.Parameters, err = rt.parameters(); err != nil {
			return nil, err
		}
		if rt.body != nil {
			ref, err := sc.ref(rt.body.name, rt.body.t)
			if err != nil {
				return nil, err
			}
			sc.requireValues(rt.body.name)
			op.RequestBody = &requestBody{Required: !rt.bodyOptional, Content: jsonContent(ref)}
		}
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		ok := response{Description: rt.summary}
		switch {
		case rt.stream != "":
			ok.Content = map[string]mediaType{rt.stream: {Schema: &jsonschema.Schema{Type: "string"}}}
		case rt.result != nil:
			ref, err := sc.ref(rt.result.name, rt.result.t)
			if err != nil {
				return nil, err
			}
			ok.Content = jsonContent(ref)
			answers = append(answers, refName(ref))
		}
		op.Responses[strconv.Itoa(status)] = ok
		if doc.Paths[rt.path] == nil {
			doc.Paths[rt.path] = map[string]*operation{}
		}
		doc.Paths[rt.path][strings.ToLower(rt.method)] = op
	}
	if err := sc.answersHoldNoNull(answers, routes); err != nil {
		return nil, err
	}
	return doc, nil
}

// parameters lists the route's path, query and header parameters,
// checking that the path's wildcards and the documented path parameters
// agree.
func (rt route) parameters() ([]openAPIParam, error) {
	var inPath []string
	for _, m := range pathParams.FindAllStringSubmatch(rt.path, -1) {
		inPath = append(inPath, m[1])
	}
	var documented []string
	var out []openAPIParam
	for _, p := range rt.pathParams {
		documented = append(documented, p.name)
		out = append(out, openAPIParam{Name: p.name, In: "path", Description: p.desc, Required: true, Schema: map[string]any{"type": p.typ}})
	}
	if !slices.Equal(inPath, documented) {
		return nil, fmt.Errorf("gateway: route %s %s documents the path parameters %v, want %v", rt.method, rt.path, documented, inPath)
	}
	for _, p := range rt.query {
		out = append(out, openAPIParam{Name: p.name, In: "query", Description: p.desc, Required: p.required, Schema: map[string]any{"type": p.typ}})
	}
	for _, p := range rt.headers {
		out = append(out, openAPIParam{Name: p.name, In: "header", Description: p.desc, Required: p.required, Schema: map[string]any{"type": p.typ}})
	}
	for _, p := range out {
		if len(p.Description) >= maxParamDescription {
			return nil, fmt.Errorf("gateway: route %s %s: the description of %s must have fewer than %d characters", rt.method, rt.path, p.Name, maxParamDescription)
		}
	}
	return out, nil
}

func jsonContent(s *jsonschema.Schema) map[string]mediaType {
	return map[string]mediaType{"application/json": {Schema: s}}
}

// schemas fills components/schemas. The mesh's own types (a message, an
// instance, a channel, a shared entry) are one component each, referred
// to wherever they appear, rather than copied into every schema.
type schemas struct {
	m      map[string]*jsonschema.Schema
	shared map[reflect.Type]*jsonschema.Schema
	byName map[string]reflect.Type
}

func newSchemas(m map[string]*jsonschema.Schema) (*schemas, error) {
	sc := &schemas{m: m, shared: map[reflect.Type]*jsonschema.Schema{}, byName: map[string]reflect.Type{}}
	shared := map[string]reflect.Type{
		"Message":  reflect.TypeFor[ipcmesh.Message](),
		"Instance": reflect.TypeFor[ipcmesh.Instance](),
		"Channel":  reflect.TypeFor[ipcmesh.Channel](),
		"Shared":   reflect.TypeFor[ipcmesh.Shared](),
	}
	for name, t := range shared {
		sc.shared[t] = &jsonschema.Schema{Ref: "#/components/schemas/" + name}
	}
	for name, t := range shared {
		sc.byName[name] = t
		if err := sc.add(name, t); err != nil {
			return nil, err
		}
	}
	// No answer names the file a large message is kept in (paths.go):
	// the document offered a GPT a path that never came.
	msg := sc.m["Message"]
	delete(msg.Properties, "path")
	msg.PropertyOrder = slices.DeleteFunc(msg.PropertyOrder, func(p string) bool { return p == "path" })
	return sc, nil
}

// ref puts t's schema under name (once) and returns a reference to it.
// One of the mesh's own types is referred to by its own name.
func (sc *schemas) ref(name string, t reflect.Type) (*jsonschema.Schema, error) {
	if r, ok := sc.shared[t]; ok {
		return &jsonschema.Schema{Ref: r.Ref}, nil // newSchemas added its component
	}
	if prev, ok := sc.byName[name]; ok && prev != t {
		return nil, fmt.Errorf("gateway: schema name %s is used for both %v and %v", name, prev, t)
	}
	sc.byName[name] = t
	if err := sc.add(name, t); err != nil {
		return nil, err
	}
	return &jsonschema.Schema{Ref: "#/components/schemas/" + name}, nil
}

// requireValues makes the required fields of the request body name take
// no null. The schema of a Go slice allows null, and the face refuses a
// null as a field left out: a client made from the document could send
// {"ids": null} and be told ids is required.
func (sc *schemas) requireValues(name string) {
	s := sc.m[name]
	if s == nil {
		return
	}
	for _, field := range s.Required {
		p := s.Properties[field]
		if p == nil {
			continue
		}
		dropNull(p)
	}
}

// answersHoldNoNull makes the schemas of the face's answers, and every
// schema they refer to, take no null. The schema of a Go slice or pointer
// allows null, but no answer holds one: a list with nothing in it is []
// (nonNil), a field with nothing to say is left out. A client made from
// the document had every list as "null or array" (in TypeScript,
// messages: null | Message[]) and had to test for a null that never
// comes. A request body's schema keeps its nulls, which the face takes
// as fields left out, so no schema may be both.
func (sc *schemas) answersHoldNoNull(answers []string, routes []route) error {
	bodies := map[string]bool{}
	for _, rt := range routes {
		if rt.body != nil {
			bodies[rt.body.name] = true
		}
	}
	done := map[string]bool{}
	for len(answers) > 0 {
		name := answers[len(answers)-1]
		answers = answers[:len(answers)-1]
		if done[name] {
			continue
		}
		done[name] = true
		if bodies[name] {
			return fmt.Errorf("gateway: schema %s describes both a request body, which may hold null, and an answer, which holds none", name)
		}
		s := sc.m[name]
		if s == nil {
			return fmt.Errorf("gateway: an answer refers to the missing schema %s", name)
		}
		var walk func(*jsonschema.Schema)
		walk = func(s *jsonschema.Schema) {
			if s == nil {
				return
			}
			if s.Ref != "" {
				answers = append(answers, refName(s))
				return
			}
			dropNull(s)
			for _, p := range s.Properties {
				walk(p)
			}
			walk(s.Items)
			walk(s.AdditionalProperties)
		}
		walk(s)
	}
	return nil
}

// dropNull takes null out of the types s allows.
func dropNull(s *jsonschema.Schema) {
	i := slices.Index(s.Types, "null")
	if i < 0 {
		return
	}
	types := slices.Delete(slices.Clone(s.Types), i, i+1)
	s.Types = types
	if len(types) == 1 {
		s.Type, s.Types = types[0], nil
	}
}

// refName is the name of the component ref refers to.
func refName(ref *jsonschema.Schema) string {
	return strings.TrimPrefix(ref.Ref, "#/components/schemas/")
}

func (sc *schemas) add(name string, t reflect.Type) error {
	if sc.m[name] != nil {
		return nil
	}
	refs := map[reflect.Type]*jsonschema.Schema{}
	for st, ref := range sc.shared {
		if st != t { // a shared type's own component is its schema, not a reference to itself
			refs[st] = ref
		}
	}
	if t.Kind() == reflect.Struct {
		// An answer that embeds a shared type (an entry with a page of its
		// content) holds its fields inline, as encoding/json writes them,
		// not a reference.
		for f := range t.Fields() {
			if f.Anonymous {
				delete(refs, f.Type)
			}
		}
	}
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: refs})
	if err != nil {
		return fmt.Errorf("gateway: the JSON schema of %s: %w", name, err)
	}
	sc.m[name] = s
	return nil
}

// openAPIJSON is the document as JSON, made once, in the two pieces
// around the URL of its one server: that URL is the only part that
// differs between requests. Made again for every request, the document
// took 2.6 ms and 470 KB, which anyone without a key could ask for at
// will.
type openAPIJSON struct {
	head, tail []byte
}

// openAPIBytes builds the document of routes and encodes it.
func openAPIBytes(routes []route, version string) (openAPIJSON, error) {
	doc, err := buildOpenAPI(routes, version)
	if err != nil {
		return openAPIJSON{}, err
	}
	// A URL no route can hold marks where the request's goes.
	const mark = "\x00server\x00"
	doc.Servers = []openAPIServer{{URL: mark}}
	b, err := json.Marshal(doc)
	if err != nil {
		return openAPIJSON{}, fmt.Errorf("gateway: encode the OpenAPI document: %w", err)
	}
	quoted, _ := json.Marshal(mark)
	i := bytes.Index(b, quoted)
	if i < 0 || bytes.Count(b, quoted) != 1 {
		return openAPIJSON{}, errors.New("gateway: the OpenAPI document does not hold its server's URL once")
	}
	return openAPIJSON{head: b[:i], tail: b[i+len(quoted):]}, nil
}

// serveOpenAPI serves the document with the request's own origin as its
// server. It needs no key: it says what the face takes, not what it holds.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	server, ok := s.guard.origin(r)
	if !ok {
		writeError(w, http.StatusBadRequest, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"Host %q is not a host name or IP address with an optional port, so the document cannot name its server: ask for /openapi.json at the face's own address, such as https://mesh.example.com/openapi.json",
			truncate(r.Host, 80)))
		return
	}
	origin, _ := json.Marshal(server) // a string always encodes
	b := make([]byte, 0, len(s.openapi.head)+len(origin)+len(s.openapi.tail))
	b = append(append(append(b, s.openapi.head...), origin...), s.openapi.tail...)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

// origin is scheme://host the request came to. A proxy that ends TLS
// says so with X-Forwarded-Proto. One that passes the face another Host
// (nginx's default, the address it forwards to) names the public one in
// X-Forwarded-Host; that is taken when --allow-host names it, as a
// ChatGPT action calls the document's server and 127.0.0.1 is none it
// can reach. Another name there is the client's own word, and ignored.
// The host is taken only when it is a host and nothing more (hostPort):
// the action sends its calls, and the key, to the URL, so a forwarded
// "mesh.example.com:@evil.example", or one with a path, must not put
// another server there, in a document a cache may keep for everyone.
// ok is false for a Host that is no host.
func (g *guard) origin(r *http.Request) (origin string, ok bool) {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	host := r.Host
	if fwd, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Host"), ","); g.allowed(strings.TrimSpace(fwd)) {
		host = strings.TrimSpace(fwd)
	}
	if _, _, ok := hostPort(host); !ok {
		return "", false
	}
	return scheme + "://" + host, true
}
