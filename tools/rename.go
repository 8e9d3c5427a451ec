package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type renameArgs struct {
	NewName string `json:"new_name" jsonschema:"1-32 letters, digits, '_' or '-'"`
}

// addRename adds rename, which moves this instance to a new name. Unlike
// registering a second name, it takes the unread mail along and forwards
// mail sent to the old name, so peers that still use it reach the assistant.
// The reply is one sentence.
func (c *core) addRename() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "rename",
		Description: `Rename this instance. Use for "rename to X", "change my name to X". ` +
			`Unread mail moves to the new name; messages to the old name are forwarded for 2 hours.`,
	}, c.id.rename)
}

// rename moves the name this instance acts as, with its mail and its
// auto-check setting.
func (s *Server) rename(ctx context.Context, req *mcp.CallToolRequest, in renameArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("rename to %q", in.NewName)
	p, old, err := s.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	if from := p.RenamedFrom(); from != "" && old == in.NewName {
		// A failover picked up this very rename, called before and
		// unanswered: it is done, and the setting moved with it.
		old = from
	}
	sess, err := p.Rename(ctx, in.NewName)
	if errors.Is(err, election.ErrNotAnswering) {
		// The broker holds the rename and may carry it out when it
		// answers again; the same rename called again finishes it.
		return nil, nil, fmt.Errorf("%w. It may still be carried out once the broker answers again: call rename again with the same name to finish it", s.fail(action, err))
	}
	if err != nil {
		return nil, nil, s.fail(action, err)
	}
	msg := fmt.Sprintf("Renamed %s to %s (%d unread moved along). Messages to %s are forwarded to %s for 2 hours.", old, sess.Name, sess.Unread, old, sess.Name)
	if sess.EndedForward != "" {
		// Whoever was renamed away from the new name no longer gets its
		// mail: the model must know it took the name over.
		msg += fmt.Sprintf(" %s had been renamed to %s, and mail to %s was forwarded there: it now reaches you instead, no longer %s.", sess.Name, sess.EndedForward, sess.Name, sess.EndedForward)
	}
	if twin := p.CaseTwin(ctx, sess.Name); twin != "" {
		// Names are case-sensitive, as after a register: a model that
		// renamed itself Bob beside bob would wait for bob's mail.
		msg += fmt.Sprintf(" Note: %s is another instance, whose name differs from yours only by case: mail to %s does not reach you.", twin, twin)
	}
	if err := autocheck.Move(p.DataDir(), old, sess.Name); err != nil {
		msg += fmt.Sprintf(" The auto-check setting did not move along (%v): call auto_check again.", err)
	}
	return text(msg), nil, nil
}

// rename refuses: the name belongs to the key, not to the connection.
func (b *bound) rename(ctx context.Context, req *mcp.CallToolRequest, in renameArgs) (*mcp.CallToolResult, any, error) {
	return nil, nil, b.otherName(fmt.Sprintf("rename to %q", in.NewName), in.NewName)
}

// followRename moves the auto-check setting along when a failover finds
// that a rename of this instance, which got no answer, was carried out
// (election.Config.OnRenamed): no rename call is there to move it.
func (s *Server) followRename(old, renamed string) {
	if err := autocheck.Move(s.opts.Mesh.DataDir, old, renamed); err != nil {
		s.log.Warn("the auto-check setting did not follow the rename", "old", old, "new", renamed, "err", err)
	}
}
