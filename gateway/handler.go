package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
)

// call is one request to a route.
type call struct {
	s   *Server
	w   http.ResponseWriter
	r   *http.Request
	ctx context.Context // the use's context for named routes
	key ipcmesh.AccessKey
	use *use
	q   url.Values // the query, as checkQuery let it through
	// body reads the request body for decode; kept here, so that a
	// request makes no allocation of its own for it.
	body utf8Body
	// wrote is set by handlers that answer themselves (streams).
	wrote bool
}

func (c *call) peer() *election.Peer { return c.use.sess.peer }

// unknownName is the note of an answer that found nothing from or with
// name when no instance is registered as name, with the names likely
// meant (see Peer.UnknownName): a mistyped name would otherwise read as
// a quiet inbox or an empty conversation. It is "" otherwise.
func (c *call) unknownName(name string) string {
	if name == "" {
		return ""
	}
	return strings.TrimSpace(c.peer().UnknownName(c.ctx, name, "GET /api/v1/instances"))
}

// decode reads the body into dst (see decodeBody). A body that is not
// JSON, sent as a form (what curl -d sends without a Content-Type), is
// refused saying so: "invalid character 'o' in literal true" alone does
// not tell its sender that the body is to be JSON. JSON sent as a form is
// read all the same.
func (c *call) decode(dst any, required bool) error {
	c.body.r = c.r.Body
	err := decodeBody(&c.body, dst, required)
	var e *ipcmesh.Error
	if errors.As(err, &e) && strings.HasPrefix(e.Message, notJSON) {
		ct, _, _ := strings.Cut(c.r.Header.Get("Content-Type"), ";")
		if ct = strings.ToLower(strings.TrimSpace(ct)); ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data" {
			return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "%s; it was sent as %s (as curl -d sends without a Content-Type): send a JSON object, with Content-Type: application/json", e.Message, ct)
		}
	}
	return err
}

func (c *call) query() *query { return &query{vals: c.q} }

// register puts every route on the mux: the REST table, then the page,
// the OpenAPI document and the MCP endpoints.
func (s *Server) register() {
	for _, rt := range s.routes {
		s.mux.Handle(rt.method+" "+rt.path, s.serveRoute(rt))
	}
	// A literal path beside a wildcard one is answered by the wildcard's
	// route for the literal's missing methods: GET /api/v1/messages/ack
	// would read a message with the id "ack" and answer 404, where the
	// client only used the wrong method. Its other methods get the 405
	// they deserve, naming those it takes.
	s.allowed = map[string][]string{
		"/api/v1/messages/ack": {http.MethodPost},
		// Stateless, /mcp opens no stream (GET) and ends no session
		// (DELETE): only POST does anything.
		"/mcp": {http.MethodPost},
	}
	s.mux.Handle("GET /api/v1/messages/ack", http.HandlerFunc(s.serveUnknown))
	// Any other path or method gets a JSON 404 or 405, as every error
	// does, not the mux's plain text.
	s.mux.Handle(apiPrefix, http.HandlerFunc(s.serveUnknown))
	s.mux.Handle("/", http.HandlerFunc(s.serveUnknown))
	s.mux.Handle("GET /openapi.json", http.HandlerFunc(s.serveOpenAPI))
	// MCP with its methods spelled out, so that the page's GET /{file}
	// does not overlap them. Stateless /mcp answers GET and DELETE with
	// 405, which is how a client learns there is no stream; answered
	// here, it is JSON that says so, as every error is, not the SDK's
	// plain text, and it puts no name online.
	s.mux.Handle("POST /mcp", http.HandlerFunc(s.serveMCP))
	s.mux.Handle("GET /mcp", http.HandlerFunc(s.serveUnknown))
	s.mux.Handle("DELETE /mcp", http.HandlerFunc(s.serveUnknown))
	s.mux.Handle("GET /sse", http.HandlerFunc(s.serveSSE))
	s.mux.Handle("POST /sse", http.HandlerFunc(s.serveSSE))
	s.registerPage()
}

const apiPrefix = "/api/v1/"

// serveRoute adapts a route's serve function to HTTP: the key, the rate
// limit, the name's peer, then the JSON answer or error.
func (s *Server) serveRoute(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{s: s, w: w, r: r, ctx: r.Context()}
		if !rt.public {
			info, err := s.authenticate(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			c.key = info
			free, err := s.bodies.reserve(info.ID, r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			defer free()
		}
		q, err := rt.checkQuery(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		c.q = q
		if rt.body == nil && r.Method != http.MethodGet {
			// A route that takes no body refuses one with fields, as
			// every route refuses a field it does not take: a leave
			// with the members a join takes would leave the caller
			// alone, not the members it meant.
			if err := c.decode(&struct{}{}, false); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if rt.named {
			u, err := s.sessions.acquire(r.Context(), c.key, rt.events, rt.register)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			defer u.release()
			c.use, c.ctx = u, u.ctx
			r = r.WithContext(u.ctx)
			c.r = r
		}
		res, err := rt.serve(c)
		if c.wrote {
			return
		}
		if err != nil {
			s.fail(w, r, inRESTWords(err))
			return
		}
		status := rt.status
		if status == 0 {
			status = http.StatusOK
		}
		writeJSONWithin(w, status, res, s.streamWrite)
	}
}

// restWords words the broker's advice, which names wire ops, as the REST
// routes that do them. Whole phrases are replaced, so that a channel
// named after an op is never taken for one.
var restWords = strings.NewReplacer(
	"list the channels with channel_list, or create it with channel_create", "list the channels with GET /api/v1/channels, or create it with POST /api/v1/channels",
	"(channel_list lists the channels)", "(GET /api/v1/channels lists the channels)",
	"join it (channel_join)", "join it (POST /api/v1/channels/NAME/join)",
	"add the rest with channel_join", "add the rest with POST /api/v1/channels/NAME/join",
	"channel_create names ", "POST /api/v1/channels names ",
	"channel_join names ", "POST /api/v1/channels/NAME/join names ",
)

// inRESTWords is err with the broker's advice in restWords.
func inRESTWords(err error) error {
	var e *ipcmesh.Error
	if !errors.As(err, &e) {
		return err
	}
	msg := restWords.Replace(e.Message)
	if msg == e.Message {
		return err
	}
	worded := *e
	worded.Message = msg
	return &worded
}

// serveUnknown answers a request no other pattern serves: 405 if the
// path exists with another method, 404 otherwise.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	allow, fixed := s.allowed[r.URL.Path]
	if !fixed {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiPrefix && pattern != "/" {
				allow = append(allow, m)
			}
		}
	}
	if len(allow) > 0 {
		var why string
		if r.URL.Path == "/mcp" {
			why = " (MCP over Streamable HTTP, stateless: each JSON-RPC message is a POST, and no stream or session is held open)"
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"%s %s is not an endpoint: this path takes %s%s", truncate(r.Method, 20), truncate(r.URL.Path, 100), strings.Join(allow, ", "), why))
		return
	}
	if strings.HasPrefix(r.URL.Path, apiPrefix) {
		// A trailing slash, as a base URL joined to a path leaves one, is
		// the likeliest slip: name the endpoint it stands for.
		if trimmed := strings.TrimRight(r.URL.Path, "/"); trimmed != r.URL.Path && trimmed+"/" != apiPrefix {
			probe := r.Clone(r.Context())
			probe.URL.Path, probe.URL.RawPath = trimmed, ""
			if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != apiPrefix && pattern != "/" {
				writeError(w, http.StatusNotFound, ipcmesh.Errorf(ipcmesh.CodeNotFound,
					"%s is not an endpoint of this face: send it to %s, without the trailing slash", truncate(r.URL.Path, 100), truncate(trimmed, 100)))
				return
			}
		}
		writeError(w, http.StatusNotFound, ipcmesh.Errorf(ipcmesh.CodeNotFound,
			"%s is not an endpoint of this face: /openapi.json lists them", truncate(r.URL.Path, 100)))
		return
	}
	writeError(w, http.StatusNotFound, ipcmesh.Errorf(ipcmesh.CodeNotFound,
		"nothing is served at %s: the page is at /, the REST endpoints under /api/v1/ (/openapi.json lists them)", truncate(r.URL.Path, 100)))
}
