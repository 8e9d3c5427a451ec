package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/ipcmesh/ipcmesh"

	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// serveMCP serves /mcp: Streamable HTTP, stateless. Each POST is answered
// on its own by a temporary session the SDK makes and closes, so no MCP
// session state lives in the face and every protocol version the SDK
// speaks works, 2026-07-28 (server/discover, no initialize) as well as the
// older ones (a synthesized initialize state per request). Mail is not
// pushed over it: the model calls check.
func (s *Server) serveMCP(w http.ResponseWriter, r *http.Request) {
	u, ok := s.mcpUse(w, r, true)
	if !ok {
		return
	}
	defer u.release()
	s.mcp.ServeHTTP(s.bounded(w, u), r.WithContext(context.WithValue(u.ctx, useKey{}, u)))
}

// serveSSE serves /sse, the legacy HTTP+SSE transport (2024-11-05): a GET
// holds a stream open and names an endpoint to POST messages to. Each name
// has its own SSE handler, so a session id is only ever found by requests
// of its name.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request) {
	u, ok := s.mcpUse(w, r, false)
	if !ok {
		return
	}
	defer u.release()
	r = r.WithContext(context.WithValue(u.ctx, useKey{}, u))
	if ri := infoOf(r); ri.pathKey != "" {
		// The SDK makes the endpoint it announces from the request's path:
		// a client that could not send a header must post to /k/KEY/sse
		// too, so it gets the path it asked for.
		withKey := *r.URL
		withKey.Path, withKey.RawPath = ri.origPath, ""
		r.URL = &withKey
	}
	u.sess.handlers(s).sse.ServeHTTP(s.bounded(w, u), r)
}

// mcpUse checks the key and registers its name, answering errors as JSON.
// batches asks for each call of a JSON-RPC batch to be counted against
// the key's rate limit (chargeBatch).
func (s *Server) mcpUse(w http.ResponseWriter, r *http.Request, batches bool) (*use, bool) {
	info, err := s.authenticate(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if batches {
		// /mcp: the SDK would refuse another type in plain text, after
		// the key's name was put online for nothing.
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, notMCPJSON(r.Header.Get("Content-Type")))
			return nil, false
		}
	}
	u, err := s.sessions.acquire(r.Context(), info, false, false)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if u.freeBody, err = s.bodies.reserve(info.ID, r); err != nil {
		u.release()
		s.fail(w, r, err)
		return nil, false
	}
	// The body is read as a use of the key, so that bodies sent slowly
	// count against maxOpenPerKey. One that is not UTF-8 is refused, as
	// the REST endpoints refuse it: the SDK would read each such byte as
	// U+FFFD, and carry out a tool call with content other than the one
	// sent, answering that it was sent.
	if r.Method == http.MethodPost && r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(&utf8Body{r: r.Body})
		if err != nil {
			u.release()
			s.fail(w, r, bodyError(err, nil))
			return nil, false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	if batches {
		if err := s.chargeBatch(r, info.ID); err != nil {
			u.release()
			s.fail(w, r, err)
			return nil, false
		}
	}
	return u, true
}

// notMCPJSON is the refusal of a POST to /mcp sent as contentType.
func notMCPJSON(contentType string) *ipcmesh.Error {
	var as string
	switch ct, _, _ := mime.ParseMediaType(contentType); ct {
	case "":
		as = "with no Content-Type"
	case "application/x-www-form-urlencoded":
		as = "as a form (what curl -d sends without a Content-Type)"
	default:
		as = fmt.Sprintf("as %q", truncate(contentType, 60))
	}
	return ipcmesh.Errorf(ipcmesh.CodeBadRequest,
		"POST /mcp takes JSON-RPC messages sent as Content-Type: application/json, and this one came %s: send it with that header (and Accept: application/json, text/event-stream)", as)
}

// mcpServerFor is the getServer of the Streamable HTTP handler: the MCP
// server of the name the request acts as. The SDK calls it more than once
// per request, so it only looks the server up.
func (s *Server) mcpServerFor(r *http.Request) *mcp.Server {
	u := useOf(r)
	if u == nil {
		return nil // not reached: serveMCP always sets the use
	}
	return u.sess.handlers(s).mcpSrv
}

// handlers makes the name's MCP server and SSE handler on first use. The
// server serves the same tools as `ipcmesh mcp`, acting as the key's name,
// and every MCP request of that name shares it.
func (sess *session) handlers(s *Server) *session {
	sess.mcpOnce.Do(func() {
		sess.mcpSrv = tools.NewBound(sess.peer, tools.BoundOptions{
			Version:           s.opts.Version,
			Logger:            s.log.With("name", sess.name),
			LargeMessageBytes: s.opts.Mesh.Store.LargeMessageBytes,
			WaitForMail:       sess.waitForMail,
		})
		// A call ends with the request or stream that carries it: its
		// client hung up, its key was revoked, the face is closing. The
		// call's context holds that use (serveMCP, serveSSE).
		sess.mcpSrv.AddReceivingMiddleware(tools.EndCallsWith(func(ctx context.Context) context.Context {
			if u, ok := ctx.Value(useKey{}).(*use); ok {
				return u.ctx
			}
			return nil
		}))
		sess.sse = mcp.NewSSEHandler(func(r *http.Request) *mcp.Server {
			if u := useOf(r); u == nil || u.sess != sess {
				return nil
			}
			return sess.mcpSrv
		}, &mcp.SSEOptions{
			DisableLocalhostProtection: true, // the guard checks Host, with AllowHosts
			MaxRequestBodyBytes:        s.opts.MaxBody,
		})
	})
	return sess
}

// errStuckClient ends a request or stream whose client took in none of
// a piece of its answer within the time allowed.
var errStuckClient = ipcmesh.Errorf(ipcmesh.CodeBadRequest,
	"the client took in nothing of the answer for 30 seconds (it stopped reading, or its network went): the request was ended; send it again")

// boundedWriter is the writer the MCP SDK answers /mcp and /sse through.
// The SDK sets no deadline on its writes, so a client that stops reading
// while its connection stays up held a write for as long as TCP kept the
// connection: the legacy SSE stream with every call of its session, or a
// call's answer, and the name's use with them, for ever. Each piece of
// bigAnswer bytes, and each flush, must go out within streamWrite, as an
// event stream's writes must; one that does not ends the use. The
// deadline is lifted once the write is done: over HTTP/2 a deadline that
// passes resets the stream, written to or not, and a check waiting for
// mail, or an /sse stream, may stay quiet for minutes.
type boundedWriter struct {
	http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	u       *use
}

func (s *Server) bounded(w http.ResponseWriter, u *use) *boundedWriter {
	return &boundedWriter{ResponseWriter: w, rc: http.NewResponseController(w), timeout: s.streamWrite, u: u}
}

func (w *boundedWriter) Write(b []byte) (int, error) {
	defer w.rc.SetWriteDeadline(time.Time{})
	var n int
	for len(b) > 0 {
		piece := min(len(b), bigAnswer)
		if w.rc.SetWriteDeadline(time.Now().Add(w.timeout)) != nil {
			piece = len(b) // a writer with no deadlines: the server's own timeouts apply
		}
		m, err := w.ResponseWriter.Write(b[:piece])
		n += m
		if err != nil {
			w.u.cancel(errStuckClient)
			return n, err
		}
		b = b[piece:]
	}
	return n, nil
}

// FlushError is what http.ResponseController calls to flush, as the SDK
// does after each event: the flush writes to the connection too.
func (w *boundedWriter) FlushError() error {
	w.rc.SetWriteDeadline(time.Now().Add(w.timeout))
	err := w.rc.Flush()
	w.rc.SetWriteDeadline(time.Time{})
	if err != nil {
		w.u.cancel(errStuckClient)
	}
	return err
}

func (w *boundedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// chargeBatch spends a request of the key's rate limit for each call of a
// JSON-RPC batch in r's body after the first, which authenticate spent.
// Protocol 2025-03-26 takes batches on /mcp, and the SDK runs every call
// of one: counted as one request, a POST of 50,000 calls ran them all,
// for 100 seconds and 260 MB of the face, near the broker's limit for the
// name instead of the key's. The body, read here, is put back for the
// SDK; one that is not a batch, or not JSON, is left to it.
func (s *Server) chargeBatch(r *http.Request, keyID string) error {
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyError(err, nil)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '[' {
		return nil
	}
	var calls []json.RawMessage
	if json.Unmarshal(trimmed, &calls) != nil || len(calls) < 2 {
		return nil
	}
	if len(calls) > s.opts.Burst {
		// No wait would let it through: a retry must be told so.
		return ipcmesh.Errorf(ipcmesh.CodeBadRequest, "a JSON-RPC batch of %d calls counts as %d requests of key %s, and it may make at most %d at once: send at most %d calls in a batch",
			len(calls), len(calls), keyID, s.opts.Burst, s.opts.Burst)
	}
	if wait, ok := s.limits.allowN(keyID, time.Now(), len(calls)-1); !ok {
		return rateLimited(wait, fmt.Sprintf("a JSON-RPC batch of %d calls counts as %d requests, more than key %s has left of its %g a second", len(calls), len(calls), keyID, s.opts.Rate))
	}
	return nil
}
