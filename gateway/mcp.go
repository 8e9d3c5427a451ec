package gateway

import (
	"context"
	"net/http"

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
	u, ok := s.mcpUse(w, r)
	if !ok {
		return
	}
	defer u.release()
	s.mcp.ServeHTTP(w, r.WithContext(context.WithValue(u.ctx, useKey{}, u)))
}

// serveSSE serves /sse, the legacy HTTP+SSE transport (2024-11-05): a GET
// holds a stream open and names an endpoint to POST messages to. Each name
// has its own SSE handler, so a session id is only ever found by requests
// of its name.
func (s *Server) serveSSE(w http.ResponseWriter, r *http.Request) {
	u, ok := s.mcpUse(w, r)
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
	u.sess.handlers(s).sse.ServeHTTP(w, r)
}

// mcpUse checks the key and registers its name, answering errors as JSON.
func (s *Server) mcpUse(w http.ResponseWriter, r *http.Request) (*use, bool) {
	info, err := s.authenticate(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	u, err := s.sessions.acquire(r.Context(), info, false, false)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return u, true
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
