package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type registerArgs struct {
	Name string `json:"name" jsonschema:"1-32 letters, digits, '_' or '-'"`
}

// addRegister adds register, which claims a name for this assistant. Every
// other tool but list_instances needs one, so its description names it as
// the first step. It costs one call a session, none when IPC_NAME names the
// instance. The session token is kept in the data folder: a restarted server
// (or a later register of the same name from this folder) resumes the name
// and its unread mail instead of finding it taken.
func (c *core) addRegister() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "register",
		Description: `Register this instance on the ipcmesh under a name, so other AI assistants can message it. ` +
			`Use for "register this instance as X", "register as X", "join the mesh as X". ` +
			`Needed first by every other tool but list_instances. Registering your own name again resumes it with its unread mail.`,
	}, c.id.register)
}

// register registers the name the model asks for, resuming its session
// when this data folder holds its token.
func (s *Server) register(ctx context.Context, req *mcp.CallToolRequest, in registerArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("register as %q", in.Name)
	p, err := s.mesh(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot %s: %w", action, err)
	}
	old := p.Name()
	if in.Name != old {
		if err := inUse(ctx, p, in.Name); err != nil {
			return nil, nil, s.fail(action, err)
		}
	}
	sess, err := p.Register(ctx, in.Name)
	if err != nil {
		return nil, nil, s.fail(action, err)
	}
	s.mu.Lock()
	s.autoErr = nil
	s.mu.Unlock()
	verb := "Registered as"
	if sess.Resumed {
		verb = "Resumed the session of"
	}
	msg := fmt.Sprintf("%s %s. Others can now message you with send to %q.", verb, sess.Name, sess.Name)
	if sess.EndedForward != "" {
		// Whoever was renamed away from the name no longer gets its mail:
		// the model must know it took the name back.
		msg += fmt.Sprintf(" %s had been renamed to %s, and mail to %s was forwarded there: it now reaches you instead, no longer %s.", sess.Name, sess.EndedForward, sess.Name, sess.EndedForward)
	}
	if old != "" && old != sess.Name {
		msg += fmt.Sprintf(" (This instance no longer acts as %s; use rename to move a name and its mail.)", old)
	}
	if twin := p.CaseTwin(ctx, sess.Name); twin != "" && !sess.Resumed {
		// Names are case-sensitive: a model that registered Builder
		// for builder would wait for mail that goes to the other.
		msg += fmt.Sprintf(" Note: %s is another instance, whose name differs from yours only by case: mail to %s does not reach you. If you meant to be %s, register as %s.", twin, twin, twin, twin)
	}
	if sess.Unread > 0 {
		msg += fmt.Sprintf(" %s waiting: call check to read.", human.Count(sess.Unread, "unread message"))
		s.inboxChanged(ctx)
	}
	return text(msg), nil, nil
}

// register confirms the bound name: a key acts as one name, so there is
// nothing to choose. It says who the caller is and what mail waits.
func (b *bound) register(ctx context.Context, req *mcp.CallToolRequest, in registerArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("register as %q", in.Name)
	if in.Name != "" && in.Name != b.name {
		if err := ipcmesh.ValidateName(in.Name); err != nil {
			return nil, nil, b.fail(action, err)
		}
		return nil, nil, b.otherName(action, in.Name)
	}
	p, name, err := b.registered(ctx, action)
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

// inUse refuses a name another connected instance acts as. The broker
// refuses it too, except to a peer that holds the name's token: every
// assistant of a user shares the data folder (and so the tokens), and
// without this a second assistant told "register as alice" would quietly
// share alice's session and inbox with the first.
func inUse(ctx context.Context, p *election.Peer, name string) error {
	if err := ipcmesh.ValidateName(name); err != nil {
		return err
	}
	all, err := p.List(ctx)
	if err != nil {
		return nil // the broker decides
	}
	taken := make(map[string]bool, len(all))
	online := false
	for _, in := range all {
		taken[in.Name] = true
		online = online || in.Name == name && in.Online
	}
	if !online {
		return nil
	}
	free := ipcmesh.FreeVariants(name, func(n string) bool { return taken[n] }, 3)
	e := ipcmesh.Errorf(ipcmesh.CodeNameTaken, "name %q is in use by another connected instance", name)
	if len(free) > 0 {
		e.Message += "; free names: " + strings.Join(free, ", ")
		e.Suggestions = free
	}
	return e
}
