package gateway

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
)

// guard holds the browser protections of docs/HTTP.md: which Host headers
// and Origins are accepted, which origins get CORS headers, and the body
// limit.
type guard struct {
	// loopback is set when the face listens on a loopback address: only
	// then is the Host header checked, because only then can a page that
	// rebinds a DNS name to 127.0.0.1 reach the face from the browser.
	loopback     bool
	port         string
	allowHosts   map[string]bool // lower case, as given and without port
	allowOrigins map[string]bool // normalised by normOrigin
	maxBody      int64
}

func newGuard(opts Options) (guard, error) {
	host, port, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return guard{}, fmt.Errorf("gateway: Addr %q: %w", opts.Addr, err)
	}
	g := guard{
		port:         port,
		allowHosts:   map[string]bool{},
		allowOrigins: map[string]bool{},
		maxBody:      opts.MaxBody,
	}
	ip := net.ParseIP(host)
	g.loopback = strings.EqualFold(host, "localhost") || ip != nil && ip.IsLoopback()
	for _, h := range opts.AllowHosts {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			continue
		}
		g.allowHosts[h] = true
		if name, _, err := net.SplitHostPort(h); err == nil {
			g.allowHosts[name] = true
		}
	}
	for _, o := range opts.AllowOrigins {
		n, err := normOrigin(o)
		if err != nil {
			return guard{}, fmt.Errorf("gateway: allowed origin %q: %w", o, err)
		}
		g.allowOrigins[n] = true
	}
	return g, nil
}

// normOrigin reduces an origin to scheme://host[:port] in lower case,
// without a default port, so that equal origins compare equal.
func normOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", fmt.Errorf("want an origin such as https://example.com or http://localhost:3000")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("an origin is scheme://host[:port], with no path, query or user")
	}
	return strings.ToLower(u.Scheme) + "://" + canonHost(strings.ToLower(u.Scheme), u.Host), nil
}

// canonHost lower-cases host[:port] and drops the scheme's default port.
func canonHost(scheme, host string) string {
	host = strings.ToLower(host)
	if h, p, err := net.SplitHostPort(host); err == nil {
		if scheme == "http" && p == "80" || scheme == "https" && p == "443" {
			if strings.Contains(h, ":") {
				return "[" + h + "]"
			}
			return h
		}
	}
	return host
}

// hostOK reports whether the request's Host header names this face.
func (g *guard) hostOK(r *http.Request) bool {
	if !g.loopback {
		return true
	}
	if g.allowed(r.Host) {
		return true
	}
	name, port, ok := hostPort(strings.ToLower(r.Host))
	if !ok {
		return false
	}
	name = strings.TrimSuffix(name, ".")
	if port == "" {
		port = "80"
		if r.TLS != nil {
			port = "443"
		}
	}
	if port != g.port {
		return false
	}
	return name == "localhost" || name == "127.0.0.1" || name == "::1"
}

// allowed reports whether host, a Host header's host[:port], is one
// that --allow-host names.
func (g *guard) allowed(host string) bool {
	host = strings.ToLower(host)
	name, _, ok := hostPort(host)
	if !ok {
		return false
	}
	name = strings.TrimSuffix(name, ".")
	return g.allowHosts[host] || g.allowHosts[name]
}

// hostPort splits a Host header's host[:port] into the host's name or
// IP address (without brackets) and the port, "" if none is given. It
// takes only what a URL's host and port may be: a name of letters,
// digits, '-', '_' and '.', an IPv4 address, or an IPv6 one in brackets,
// and a port of digits. Anything else (a user before '@', a path, a
// query, a '%' escape, a zone) would make a URL built from it name
// another server, or none: net.SplitHostPort, which does not look at
// the port, would pass "mesh.example.com:@evil.example" for
// mesh.example.com, and a URL made of it has the host evil.example.
func hostPort(h string) (host, port string, ok bool) {
	host = h
	if i := strings.LastIndexByte(h, ':'); i > strings.LastIndexByte(h, ']') {
		host, port = h[:i], h[i+1:]
		if n, err := strconv.Atoi(port); err != nil || len(port) > 5 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			return "", "", false
		}
	}
	if inner, found := strings.CutPrefix(host, "["); found {
		inner, found = strings.CutSuffix(inner, "]")
		if !found || !strings.Contains(inner, ":") || net.ParseIP(inner) == nil {
			return "", "", false
		}
		return inner, port, true
	}
	if host == "" || strings.ContainsFunc(host, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.')
	}) {
		return "", "", false
	}
	return host, port, true
}

// originOK reports whether a request with this Origin may be served, and
// whether the origin is one that gets CORS headers. The face's own origin
// is the one of the request's Host, or of a name given with --allow-host.
func (g *guard) originOK(r *http.Request, origin string) (ok, cors bool) {
	n, err := normOrigin(origin)
	if err != nil {
		return false, false // "null" (sandboxed frames, file: pages) included
	}
	if g.allowOrigins[n] {
		return true, true
	}
	u, _ := url.Parse(n)
	// A name given with --allow-host is the face's own, reached through a
	// proxy or tunnel, which may pass on the face's own Host instead of
	// it (nginx does by default): the page served at that name is the
	// face's page.
	return u.Host == canonHost(u.Scheme, r.Host) || g.allowHosts[u.Host], false
}

// The headers a browser may send and read across origins.
const (
	corsMethods       = "GET, POST, PUT, DELETE, OPTIONS"
	corsAllowHeaders  = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID, Mcp-Protocol-Version, Mcp-Session-Id"
	corsExposeHeaders = "Retry-After, WWW-Authenticate, Mcp-Session-Id"
)

// reqInfo is what the outer layers learn about a request and the inner
// ones fill in: the key from the path, and the key id for the log line.
type reqInfo struct {
	pathKey  string // the key of a /k/KEY/... path, "" otherwise
	origPath string // the path before /k/KEY was cut off
	keyID    string // set once a key checked out
}

type reqInfoKey struct{}

func infoOf(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

// guarded wraps next with the checks every request passes, in order: the
// Host header, the Origin, CORS, the body limit and the key in the path.
// It also ties the request to the face's lifetime and logs it.
func (s *Server) guarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &reqInfo{}
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		ctx, cancel := context.WithCancelCause(context.WithValue(r.Context(), reqInfoKey{}, ri))
		stop := context.AfterFunc(s.ctx, func() { cancel(context.Cause(s.ctx)) })
		defer func() {
			stop()
			cancel(nil)
			// The path is logged after the key was cut out of it.
			s.log.Debug("http request", "method", r.Method, "path", logPath(r.URL.Path), "status", rec.status,
				"key_id", ri.keyID, "remote", r.RemoteAddr, "took", time.Since(start).Round(time.Microsecond))
		}()
		r = r.WithContext(ctx)
		cn := connOf(r)
		cn.enter()
		defer cn.leave()
		s.serveGuarded(rec, r, ri, next)
	})
}

func (s *Server) serveGuarded(w http.ResponseWriter, r *http.Request, ri *reqInfo, next http.Handler) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // a /k/KEY/ page must not leak its URL
	h.Set("X-Frame-Options", "DENY")
	ri.origPath = r.URL.Path
	if clean := cleanPath(r.URL.Path); strings.HasPrefix(clean, "/k/") {
		ri.origPath = clean
		cutPathKey(r, ri, clean)
	}
	g := &s.guard
	if !g.hostOK(r) {
		writeError(w, http.StatusMisdirectedRequest, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
			"this face answers to localhost:%s, 127.0.0.1:%s and [::1]:%s, not to Host %q: to reach it by that name, start it with --allow-host NAME",
			g.port, g.port, g.port, truncate(r.Host, 80)))
		return
	}
	origin := r.Header.Get("Origin")
	if len(g.allowOrigins) > 0 {
		h.Add("Vary", "Origin")
	}
	if origin != "" {
		ok, cors := g.originOK(r, origin)
		if !ok {
			writeError(w, http.StatusForbidden, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
				"requests from pages of %q are not allowed: only this face's own page, or an origin given with --allow-origin, may call it", truncate(origin, 80)))
			return
		}
		if cors {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				h.Set("Access-Control-Allow-Methods", corsMethods)
				h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
	}
	if r.ContentLength > g.maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, tooLarge(g.maxBody))
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		// A compressed body would be read as it is, and refused as bad
		// JSON or as not UTF-8, which sends its sender looking for the
		// wrong fault.
		if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			writeError(w, http.StatusUnsupportedMediaType, ipcmesh.Errorf(ipcmesh.CodeBadRequest,
				"Content-Encoding %q is not taken: send the body uncompressed, as JSON in UTF-8", truncate(ce, 40)))
			return
		}
		s.bodyDeadline(w, r)
		body := &touchedBody{ReadCloser: http.MaxBytesReader(w, r.Body, g.maxBody)}
		r.Body = body
		if rec, ok := w.(*recorder); ok {
			rec.body = body
		}
	}
	next.ServeHTTP(w, r)
}

// Minimum pace of a request body: it must arrive within bodyGrace plus a
// second for every bodyRate bytes it has (the body limit's, when it
// does not say), so the largest body allowed may take about five minutes.
const (
	bodyGrace = 30 * time.Second
	bodyRate  = 64 << 10
)

// bodyDeadline bounds how long r's body may take to arrive. The server
// reads the body of every request, refused ones included, before it
// answers, and had no deadline for that: a client that sent its headers
// and then trickled its body, or stopped, held a connection and a
// goroutine for ever, with no key at all. The server lifts the deadline
// itself once the body has been read, when it starts watching for the
// client's going, so the stream or long wait a request asks for is not
// cut.
func (s *Server) bodyDeadline(w http.ResponseWriter, r *http.Request) {
	size := r.ContentLength
	if size < 0 {
		size = s.guard.maxBody
	}
	// A writer with no deadlines leaves it to the server's own timeouts.
	http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.bodyGrace + time.Duration(size/bodyRate)*time.Second))
}

// errBodyTimeout refuses a request whose body did not arrive in time
// (bodyDeadline), with 408.
var errBodyTimeout = ipcmesh.Errorf(ipcmesh.CodeBadRequest,
	"the request body did not arrive in time: send it whole and at once (at least 64 KiB a second), or share bulk content in pieces")

// cutPathKey takes the key out of a /k/KEY/rest path and routes rest, for
// clients that cannot set an Authorization header (claude.ai connectors).
// clean is the request's path made clean (cleanPath): a key path that is
// not ("//k/KEY/mcp", from a base URL with a trailing slash) is served as
// its clean form, where the ServeMux would answer with a redirect that
// carries the key in its Location.
func cutPathKey(r *http.Request, ri *reqInfo, clean string) {
	rest := strings.TrimPrefix(clean, "/k/")
	key, tail, _ := strings.Cut(rest, "/")
	ri.pathKey = key
	if ri.pathKey == "" {
		ri.pathKey = "-" // "/k//mcp": a key was meant, and it is not one
	}
	u := *r.URL
	u.Path = "/" + tail
	u.RawPath = ""
	if esc, ok := strings.CutPrefix(cleanPath(r.URL.EscapedPath()), "/k/"+key); ok {
		u.RawPath = esc
	}
	r.URL = &u
}

// cleanPath is p as the ServeMux routes it: rooted, with no "." or ".."
// elements or repeated slashes, and a trailing slash kept.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

func tooLarge(limit int64) *ipcmesh.Error {
	return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the request body is over the limit of %d bytes, counted as sent (JSON writes a control character such as \\u0001 as six bytes): share bulk content in pieces, or raise IPC_MAX_MESSAGE_BYTES", limit)
}

// recorder remembers the status for the log line. Unwrap lets
// http.ResponseController (which the MCP SDK flushes through) reach the
// real writer.
type recorder struct {
	http.ResponseWriter
	status int
	wrote  bool
	body   *touchedBody // nil for a request without a body
}

// WriteHeader closes the connection after an answer given before the
// request's body was read at all: a refusal (no key, a key that did not
// check out, a rate limit). The server reads what is left of a body of
// up to 256 KiB before it writes the answer, to keep the connection,
// and so waited for a body that trickled in until its deadline (30
// seconds and more): anyone, with no key, held a connection and got no
// answer for that long with each request. A body that has come whole
// is still read from the connection's buffer, and the connection kept.
func (rw *recorder) WriteHeader(code int) {
	if !rw.wrote {
		rw.status, rw.wrote = code, true
		if rw.body != nil && !rw.body.read.Load() {
			http.NewResponseController(rw.ResponseWriter).SetReadDeadline(time.Now())
		}
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	rw.wrote = true
	return rw.ResponseWriter.Write(b)
}

// Flush is here for code that asserts http.Flusher rather than using a
// ResponseController.
func (rw *recorder) Flush() { http.NewResponseController(rw.ResponseWriter).Flush() }

func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// touchedBody is a request body that knows whether it was read.
type touchedBody struct {
	io.ReadCloser
	read atomic.Bool
}

func (b *touchedBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.ReadCloser.Read(p)
}

// logPath is a request's path as the log shows it: with the tag of any
// access key in it left out. A key in its place, /k/KEY/, is cut out of
// the path before it is logged; one put where no key belongs (/K/KEY/,
// a message id) would otherwise be logged whole.
type logPath string

// LogValue leaves out the tags; it runs only for a record that is logged.
func (p logPath) LogValue() slog.Value {
	s := string(p)
	if !strings.Contains(s, auth.AccessKeyPrefix) {
		return slog.StringValue(s)
	}
	var b strings.Builder
	for {
		i := strings.Index(s, auth.AccessKeyPrefix)
		if i < 0 {
			b.WriteString(s)
			return slog.StringValue(b.String())
		}
		i += len(auth.AccessKeyPrefix)
		b.WriteString(s[:i])
		s = s[i:]
		// The id names the key, as the log's key_id does; the rest of the
		// segment may be its tag.
		if id, _, ok := strings.Cut(s, "_"); ok && auth.IsAccessKeyID(id) {
			b.WriteString(id + "_")
			s = s[len(id)+1:]
		}
		end := strings.IndexByte(s, '/')
		if end < 0 {
			end = len(s)
		}
		if end > 0 {
			b.WriteString("[left out]")
		}
		s = s[end:]
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// retryAfter formats d as a Retry-After header: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}
