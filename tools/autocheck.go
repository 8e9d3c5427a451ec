package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type autoCheckArgs struct {
	IntervalMinutes *int `json:"interval_minutes,omitempty" jsonschema:"minutes between automatic checks; 0 stops; omit for status"`
}

var autoCheckSchema = schemaOnce[autoCheckArgs](nil)

// addAutoCheck adds auto_check, which stores how often the assistant's hooks
// (ipcmesh hook, set up by ipcmesh install) should show new mail: an
// assistant that is busy with tools sees its mail without being asked to
// check. The server only keeps the setting; the hooks act on it. The reply
// is one sentence; the mail the hooks show later costs context only when
// there is some.
func (c *core) addAutoCheck() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name:        "auto_check",
		InputSchema: autoCheckSchema(),
		Description: `Turn automatic mail checks on or off: the assistant's ipcmesh hooks then show new messages every N minutes. ` +
			`Use for "start auto checking 5" (interval_minutes 5), "stop auto checking" (0), "auto check status" (omit interval_minutes).`,
	}, c.id.autoCheck)
}

// autoCheck reads or changes the setting of the name this instance acts
// as, in its data folder, where the hooks read it.
func (s *Server) autoCheck(ctx context.Context, req *mcp.CallToolRequest, in autoCheckArgs) (*mcp.CallToolResult, any, error) {
	const action = "set auto checking"
	p, name, err := s.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	status := in.IntervalMinutes == nil || *in.IntervalMinutes < 0
	set, err := autocheck.Load(p.DataDir(), name)
	switch {
	case errors.Is(err, autocheck.ErrDamaged) && status:
		return nil, nil, fmt.Errorf("auto checking is off for %s: its setting file is damaged; call auto_check with interval_minutes to save a new setting over it (%w)", name, err)
	case errors.Is(err, autocheck.ErrDamaged):
		// A new interval needs nothing of the old setting but when mail
		// was last shown, which starting afresh only makes sooner.
		set = autocheck.Setting{}
	case err != nil:
		return nil, nil, fmt.Errorf("cannot read the auto-check setting of %s: %w", name, err)
	}
	if !status {
		set.IntervalMinutes = *in.IntervalMinutes
		if err := autocheck.Save(p.DataDir(), name, set); err != nil {
			return nil, nil, fmt.Errorf("cannot save the auto-check setting of %s: %w", name, err)
		}
	}
	every := human.Count(set.IntervalMinutes, "minute")
	_, hooked := autocheck.LastHook(p.DataDir(), name)
	switch {
	case set.IntervalMinutes <= 0 && status:
		return text(fmt.Sprintf("Auto checking is off for %s.", name)), nil, nil
	case set.IntervalMinutes <= 0:
		return text(fmt.Sprintf("Auto checking stopped for %s. Call check to read messages.", name)), nil, nil
	case !hooked:
		// The setting is only read by hooks: without them, "started"
		// would promise mail that nothing shows. A status call saved
		// nothing, so it must not say it did.
		what := fmt.Sprintf("Saved: show new messages every %s for %s.", every, name)
		if status {
			what = fmt.Sprintf("Auto checking is set to every %s for %s.", every, name)
		}
		return text(fmt.Sprintf("%s But no ipcmesh hook has run for %s yet, so nothing shows them on its own: "+
			"the user must install the hooks (`ipcmesh install claude --name %s`, or gemini; Windsurf has no hooks) and restart this assistant. Until then, call check (wait_seconds waits for mail).",
			what, name, name)), nil, nil
	case status:
		return text(fmt.Sprintf("Auto checking is on for %s: the ipcmesh hooks show new messages every %s.", name, every)), nil, nil
	}
	return text(fmt.Sprintf("Auto checking started for %s: the ipcmesh hooks show new messages every %s.", name, every)), nil, nil
}

// autoCheck refuses: no hook of this connection's assistant reads the
// setting (see errAutoCheckBound).
func (b *bound) autoCheck(ctx context.Context, req *mcp.CallToolRequest, in autoCheckArgs) (*mcp.CallToolResult, any, error) {
	return nil, nil, errAutoCheckBound
}

// errAutoCheckBound is auto_check's answer on a bound server.
var errAutoCheckBound = errors.New("cannot set auto checking: automatic checks are shown by the ipcmesh hooks of an assistant " +
	"on the mesh's own machine (ipcmesh install sets them up), and this connection reaches the mesh over HTTP, " +
	"directly or through `ipcmesh mcp --remote`, where no such hook runs; call check instead, with wait_seconds to wait for mail")
