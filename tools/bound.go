package tools

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Bound servers are the MCP face of the HTTP face (docs/HTTP.md, "MCP over
// HTTP"): the same tools, acting through a peer the HTTP face holds for the
// name a caller's key is bound to. The key decides the name, so register
// only confirms it and rename is refused; the hooks auto_check configures
// run on the mesh's own machine, so it is refused too. The endpoint is
// stateless, so nothing is pushed: the model calls check.
//
// The HTTP face may build a server per request, so building one must be
// cheap and leave nothing running: NewBound joins nothing, waits for
// nothing and starts no goroutine.

// BoundOptions configure a server made by NewBound.
type BoundOptions struct {
	// Version is reported to clients as the server's version.
	Version string
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
}

// NewBound returns an MCP server that serves the tools, the prompt and the
// inbox resource of New's server (the same definitions) and acts through
// p, which the caller has joined to the mesh and registered as the name a
// key is bound to (p.Name()). The server never registers, renames or closes
// p: the caller owns it. It pushes no mail and declares no subscription,
// as suits a stateless endpoint, and keeps no state of a session: one
// server may serve every request and session for p at once.
//
// Building one is not free (about a millisecond and half a megabyte, most
// of it the SDK checking each tool's schema as it is added), so a caller
// that serves p for many requests should build one and return it from its
// getServer each time, as the SDK's HTTP handlers allow (the HTTP face
// keeps one per name).
func NewBound(p *election.Peer, opts BoundOptions) *mcp.Server {
	log := orDiscard(opts.Logger)
	version := orDevel(opts.Version)
	name := p.Name()
	s := &Server{
		opts:  Options{Version: version, Logger: log},
		log:   log,
		fixed: p,
		bound: name,
	}
	s.mcp = mcp.NewServer(&mcp.Implementation{Name: "ipcmesh", Version: version}, &mcp.ServerOptions{
		Instructions: boundInstructions(name),
		Logger:       log,
		// Non-nil, so that no logging capability is declared (as by New),
		// and without claude/channel: nothing is pushed here.
		Capabilities: &mcp.ServerCapabilities{},
	})
	s.addFeatures()
	return s.mcp
}

// boundInstructions are the server's instructions with a line that saves
// the model a register call and a wait for pushes that never come.
func boundInstructions(name string) string {
	if name == "" {
		return instructions
	}
	return instructions + "- Here you act as " + name + ", the name this connection's key is bound to: you are registered already " +
		"(register only confirms it; rename is refused). Mail is not pushed over this connection: call check, with wait_seconds to wait for mail.\n"
}

// boundPeer returns the peer and its name, or an error if the name's
// session has been lost since the HTTP face registered it.
func (s *Server) boundPeer(action string) (*election.Peer, string, error) {
	if name := s.fixed.Name(); name != "" && name == s.bound {
		return s.fixed, name, nil
	}
	return nil, "", s.boundOffline(action)
}

// boundOffline is the error for a tool that needs the bound name while the
// peer does not act as it (its session expired or was ended elsewhere).
// Calling register would not help: the HTTP face registers the name.
func (s *Server) boundOffline(action string) error {
	if s.bound == "" {
		return fmt.Errorf("cannot %s: the name this connection's key is bound to is not registered on the mesh right now; try again in a moment", action)
	}
	return fmt.Errorf("cannot %s: %s, the name this connection's key is bound to, is not registered on the mesh right now; try again in a moment", action, s.bound)
}

// registerBound confirms the bound name: a key acts as one name, so there
// is nothing to choose. It says who the caller is and what mail waits.
func (s *Server) registerBound(ctx context.Context, in registerArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("register as %q", in.Name)
	if in.Name != "" && in.Name != s.bound {
		if err := ipcmesh.ValidateName(in.Name); err != nil {
			return nil, nil, s.fail(action, err)
		}
		return nil, nil, s.otherName(action, in.Name)
	}
	p, name, err := s.boundPeer(action)
	if err != nil {
		return nil, nil, err
	}
	msg := fmt.Sprintf("You are %s: this connection's key is bound to that name, which is registered already. Others can message you with send to %q.", name, name)
	// The unread count is a courtesy: without it the answer still holds.
	if all, err := p.List(ctx); err == nil {
		for _, in := range all {
			if in.Name == name && in.Unread > 0 {
				msg += fmt.Sprintf(" %s waiting: call check to read.", human.Count(in.Unread, "unread message"))
			}
		}
	}
	return text(msg), nil, nil
}

// renameBound refuses: the name belongs to the key, not to the connection.
func (s *Server) renameBound(in renameArgs) error {
	return s.otherName(fmt.Sprintf("rename to %q", in.NewName), in.NewName)
}

// otherName is the refusal of an action that would act as want, a name
// other than the bound one.
func (s *Server) otherName(action, want string) error {
	if ipcmesh.ValidateName(want) != nil {
		want = "NAME"
	}
	return fmt.Errorf("cannot %s: this connection acts as %s because its key is bound to %s; to act as %s, use a key made for it (run `ipcmesh key create %s` on the mesh's machine)",
		action, s.bound, s.bound, want, want)
}

// errAutoCheckBound is auto_check's answer on a bound server.
var errAutoCheckBound = errors.New("cannot set auto checking: automatic checks are shown by the ipcmesh hooks of an assistant " +
	"on the mesh's own machine (ipcmesh install sets them up), and this connection reaches the mesh over HTTP, " +
	"directly or through `ipcmesh mcp --remote`, where no such hook runs; call check instead, with wait_seconds to wait for mail")
