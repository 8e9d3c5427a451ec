package remote

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/internal/untrusted"
)

// remoteEndpoint turns the address a user gives (https://host:port,
// https://host:port/mcp, host:port, or a prefix a reverse proxy serves the
// face under) into the URL of the face's Streamable HTTP endpoint.
func remoteEndpoint(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("no remote URL: give the HTTP face's address, such as https://host:9877")
	}
	// A key in the URL would show in process listings and in every error
	// that names the URL: the bridge sends it as a header instead.
	if strings.Contains(raw, "/k/") {
		return nil, errors.New("the remote URL holds a key (/k/KEY/...): give the address alone and the key in IPC_KEY or --key-file")
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("remote URL %q: %w", raw, err)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("remote URL %q: want https:// (or http:// on a trusted network), such as https://host:9877", raw)
	case u.Host == "":
		return nil, fmt.Errorf("remote URL %q names no host: want one such as https://host:9877", raw)
	case u.User != nil:
		return nil, errors.New("the remote URL holds credentials: give the address alone and the key in IPC_KEY or --key-file")
	}
	path := strings.TrimSuffix(u.Path, "/")
	switch {
	case strings.HasSuffix(path, "/sse"):
		return nil, fmt.Errorf("remote URL %q: the bridge speaks Streamable HTTP, served at /mcp, not the legacy /sse", raw)
	case !strings.HasSuffix(path, "/mcp"):
		path += "/mcp"
	}
	u.Path, u.RawPath, u.Fragment = path, "", ""
	return u, nil
}

// isLoopback reports whether host (no port) is this machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// bearer adds the key to each request for the endpoint's origin, and turns
// a 401 into an unauthorizedError: the SDK would report it as a bare
// "Unauthorized", which says nothing of the key or how to fix it.
type bearer struct {
	key    string
	origin *url.URL // scheme and host the key may go to
	base   http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *bearer) RoundTrip(req *http.Request) (*http.Response, error) {
	// Only the face gets the key: not a host a redirect points at.
	if req.URL.Scheme != t.origin.Scheme || req.URL.Host != t.origin.Host {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context()) // a RoundTripper must not change req
	r.Header.Set("Authorization", "Bearer "+t.key)
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	switch code := resp.StatusCode; {
	case code == http.StatusUnauthorized:
		defer resp.Body.Close()
		return nil, &unauthorizedError{endpoint: req.URL.Redacted(), detail: errorDetail(resp.Body)}
	case code == http.StatusNotFound && req.Method == http.MethodPost && req.Header.Get("Mcp-Session-Id") == "":
		// 404 to a request of no session (initialize) is not a session
		// lost: nothing is served at the URL's path. The SDK would say a
		// bare "Not Found", which does not point at the path.
		resp.Body.Close()
		return nil, &refusedError{
			endpoint: req.URL.Redacted(),
			status:   statusLine(code),
			detail:   fmt.Sprintf("nothing is served at %s: give --remote the face's address alone, such as https://HOST:PORT, or the path a proxy in front of it serves it under", untrusted.Line(req.URL.Path)),
		}
	case code >= 400 && code < 500 && code != http.StatusNotFound:
		// 404 is a session the face no longer knows, which connecting
		// again cures; any other client error is the face's answer.
		defer resp.Body.Close()
		return nil, &refusedError{
			endpoint:   req.URL.Redacted(),
			status:     statusLine(code),
			detail:     errorDetail(resp.Body),
			retryAfter: retryAfterSeconds(resp.Header.Get("Retry-After")),
		}
	}
	return resp, nil
}

// What the bridge says comes from whoever answers at the face's address
// (the face, a proxy in front of it, or anyone on a plain-HTTP path), and
// goes to the terminal or the assistant's MCP log that started it: each
// part is one line of plain text, bounded. A control character in it
// would act on that terminal (ESC starts a sequence that can rewrite
// the screen or its title) or start a line of its own.

// errorDetail is the message of the face's JSON error body
// ({"error": {"code", "message"}}), or "" if there is none.
func errorDetail(body io.Reader) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(body, 4096))
	if json.Unmarshal(raw, &e) != nil {
		// A face that serves TLS answers a plain-HTTP request with Go's
		// own 400 and this text, before any handler of ours runs: the
		// URL's scheme is the mistake, which the status alone hides.
		if strings.HasPrefix(string(raw), "Client sent an HTTP request to an HTTPS server") {
			return "it serves HTTPS: give --remote its https:// URL"
		}
		return ""
	}
	// The face's messages end with what to do, and the longest run to a
	// few hundred bytes: the bound is for a body that is not the face's.
	return plainLine(strings.TrimSpace(e.Error.Message), maxDetail)
}

// maxDetail bounds the face's words that an error passes on.
const maxDetail = 1000

// plainLine is s with every control character, line break and
// bidirectional control shown rather than obeyed (untrusted.Line), cut
// to at most max bytes and "..." at a character's start.
func plainLine(s string, max int) string {
	s = untrusted.Line(s)
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// statusLine is a status as the error names it: the code and its text
// from the standard, not the reason phrase the answer gives, which may
// be anything.
func statusLine(code int) string {
	return strings.TrimSpace(strconv.Itoa(code) + " " + http.StatusText(code))
}

// retryAfterSeconds is a Retry-After header in seconds, as the face
// sends it, or "" for any other (an HTTP date included): the error says
// "wait N s".
func retryAfterSeconds(v string) string {
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 9 || strings.Trim(v, "0123456789") != "" {
		return ""
	}
	return v
}

// unauthorizedError is the face refusing the key: it is mistyped, revoked,
// or was made by another mesh.
type unauthorizedError struct {
	endpoint string
	detail   string // the face's own words, if it gave any
}

func (e *unauthorizedError) Error() string {
	why := "401 Unauthorized"
	if e.detail != "" {
		why += ": " + e.detail
	}
	return fmt.Sprintf("the ipcmesh HTTP face at %s refused the key (%s): check IPC_KEY or --key-file, "+
		"or make a new key with `ipcmesh key create NAME` on the mesh's machine", e.endpoint, why)
}

// refusedError is the face refusing a request with a client error other
// than 401 (the key: unauthorizedError) and 404: a body over its limit
// (413), its rate limit (429), a Host or Origin it does not serve (421,
// 403). The request reached the face, and sending it again would be
// refused again, so the bridge passes the face's words on and does not
// retry: the face was reached.
type refusedError struct {
	endpoint   string
	status     string // as the response gave it: "413 Request Entity Too Large"
	detail     string // the face's own words, if it gave any
	retryAfter string // the Retry-After header, if any
}

func (e *refusedError) Error() string {
	msg := fmt.Sprintf("the ipcmesh HTTP face at %s refused the request (%s)", e.endpoint, e.status)
	if e.detail != "" {
		msg += ": " + e.detail
	}
	if e.retryAfter != "" {
		msg += fmt.Sprintf(" (it asks to wait %s s before trying again)", e.retryAfter)
	}
	return msg
}

// boundedDial returns a copy of tr whose connections give up after
// timeout, dialled as tr dials them.
func boundedDial(tr *http.Transport, timeout time.Duration) *http.Transport {
	tr = tr.Clone()
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c, err := dial(ctx, network, addr)
		var op *net.OpError
		if errors.As(err, &op) && op.Timeout() {
			err = &dialTimeout{addr: addr, after: timeout, err: err}
		}
		return c, err
	}
	return tr
}

// dialTimeout is a connection to the face that got no answer in time.
type dialTimeout struct {
	addr  string
	after time.Duration
	err   error
}

func (e *dialTimeout) Error() string {
	return fmt.Sprintf("nothing answered a connection to %s within %v: the host may be down or not this one, or a firewall drops the connection", e.addr, e.after)
}

func (e *dialTimeout) Unwrap() error { return e.err }

// unreachable explains a failure to get an answer from the face at
// endpoint, and what to do about it. ca names the setting that gave a CA
// to trust ("--ca FILE"), "" if none did: a certificate that is not
// trusted is a missing CA only when none was given.
func unreachable(endpoint, ca string, err error) error {
	var cert *tls.CertificateVerificationError
	if errors.As(err, &cert) {
		return &unreachableError{endpoint: endpoint, err: err, cause: fmt.Sprintf("its TLS certificate is not trusted (%v)", cert.Err),
			fix: untrustedFix(cert.Err, ca)}
	}
	// The network's own words say what happened ("dial tcp HOST:PORT:
	// connect: connection refused"); the go-sdk's around them ("calling
	// \"initialize\": sending \"initialize\": rejected by transport: Post
	// URL: ...") only say again that the request did not go.
	cause := err.Error()
	var op *net.OpError
	var slow *dialTimeout
	switch {
	case errors.As(err, &slow):
		cause = slow.Error()
	case errors.As(err, &op):
		cause = op.Error()
	}
	return &unreachableError{endpoint: endpoint, err: err, cause: cause,
		fix: "check that the face runs there (`ipcmesh serve --http ADDR`, or `ipcmesh broker --http ADDR`, on the mesh's machine) and that --remote gives its address"}
}

// untrustedFix is what to do about a face's certificate that did not
// verify for reason. The usual mistake is a self-signed certificate
// without its CA, but a CA given already, an expired certificate and one
// made for another host name each need something else.
func untrustedFix(reason error, ca string) string {
	var invalid x509.CertificateInvalidError
	var host x509.HostnameError
	switch {
	case errors.As(reason, &invalid) && invalid.Reason == x509.Expired:
		return "the face serves a certificate outside its dates: give it a new one (serve --tls-cert), or set this machine's clock if it is wrong"
	case errors.As(reason, &host):
		return "give --remote a host name the certificate holds, or make the face a certificate for this one (openssl's -addext subjectAltName=DNS:NAME or IP:ADDRESS)"
	case ca != "":
		return fmt.Sprintf("the CA of %s does not sign it: give the face's own certificate (the file of its serve --tls-cert) or the CA that signed it", ca)
	}
	return "for a self-signed certificate, pass its CA with --ca FILE or IPC_CA_FILE"
}

// unreachableError is what unreachable says, known as such so that it is
// not said twice when a call fails for it.
type unreachableError struct {
	endpoint string
	err      error  // the failure, for errors.Is and errors.As
	cause    string // what happened, in words
	fix      string // what to do
}

// maxUnreachable bounds the cause an unreachableError names: it can hold
// the message of a JSON-RPC error in the answer (the go-sdk passes it
// on), of any length and with any characters. It is bounded apart from
// the rest, so that what to do is never cut off.
const maxUnreachable = 2000

func (e *unreachableError) Error() string {
	return fmt.Sprintf("cannot reach the ipcmesh HTTP face at %s: %s: %s", untrusted.Line(e.endpoint), plainLine(e.cause, maxUnreachable), e.fix)
}

func (e *unreachableError) Unwrap() error { return e.err }
