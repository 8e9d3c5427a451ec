package tools

import (
	"context"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ipcmesh/ipcmesh/autocheck"
)

// sessionRecord keeps, in the data folder, the name the server acts as
// under the id of the assistant's session (Options.Session), so that the
// session's hooks act as that name and not as another session's
// (autocheck.SessionName). It is brought up to date after every tool call,
// as any of them may have registered, renamed or lost the name, and
// removed when the server ends.
type sessionRecord struct {
	id  string
	dir string

	mu   sync.Mutex // serialises writing the record; held across it
	name string     // as last recorded
}

// recordName is a middleware that records the name the server acts as
// after each tool call that changed it.
func (s *Server) recordName(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if _, ok := req.(*mcp.CallToolRequest); ok {
			s.updateSession()
		}
		return res, err
	}
}

// updateSession records the name the server acts as now, or forgets the
// record when it acts as none.
func (s *Server) updateSession() {
	s.mu.Lock()
	name := ""
	if s.peer != nil {
		name = s.peer.Name()
	}
	s.mu.Unlock()
	r := &s.session
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == r.name {
		return
	}
	var err error
	if name == "" {
		err = autocheck.ForgetSession(r.dir, r.id)
	} else {
		err = autocheck.SaveSessionName(r.dir, r.id, name)
	}
	if err != nil {
		s.log.Warn("the session's hooks may act as another name", "session", r.id, "err", err)
		return
	}
	r.name = name
}

// forgetSession removes the record once the server has ended.
func (s *Server) forgetSession() {
	s.session.mu.Lock()
	defer s.session.mu.Unlock()
	if err := autocheck.ForgetSession(s.session.dir, s.session.id); err != nil {
		s.log.Warn("forget the session's name", "session", s.session.id, "err", err)
	}
}
