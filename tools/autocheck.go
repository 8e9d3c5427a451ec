package tools

import (
	"context"
	"fmt"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// auto_check stores how often the assistant's hooks (ipcmesh hook, set up
// by ipcmesh install) should show new mail: an assistant that is busy with
// tools sees its mail without being asked to check. The server only keeps
// the setting; the hooks act on it. The reply is one sentence; the mail
// the hooks show later costs context only when there is some.

type autoCheckArgs struct {
	IntervalMinutes *int `json:"interval_minutes,omitempty" jsonschema:"minutes between automatic checks; 0 stops; omit for status"`
}

var autoCheckSchema = schemaOnce[autoCheckArgs](nil)

func (s *Server) addAutoCheck() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name:        "auto_check",
		InputSchema: autoCheckSchema(),
		Description: `Turn automatic mail checks on or off: the assistant's ipcmesh hooks then show new messages every N minutes. ` +
			`Use for "start auto checking 5" (interval_minutes 5), "stop auto checking" (0), "auto check status" (omit interval_minutes).`,
	}, s.autoCheck)
}

func (s *Server) autoCheck(ctx context.Context, req *mcp.CallToolRequest, in autoCheckArgs) (*mcp.CallToolResult, any, error) {
	const action = "set auto checking"
	if s.fixed != nil {
		return nil, nil, errAutoCheckBound
	}
	p, name, err := s.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	set, err := autocheck.Load(p.DataDir(), name)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the auto-check setting of %s: %w", name, err)
	}
	if in.IntervalMinutes == nil || *in.IntervalMinutes < 0 {
		if set.IntervalMinutes <= 0 {
			return text(fmt.Sprintf("Auto checking is off for %s.", name)), nil, nil
		}
		return text(fmt.Sprintf("Auto checking is on for %s: new messages are shown every %s.", name, human.Count(set.IntervalMinutes, "minute"))), nil, nil
	}
	set.IntervalMinutes = *in.IntervalMinutes
	if err := autocheck.Save(p.DataDir(), name, set); err != nil {
		return nil, nil, fmt.Errorf("cannot save the auto-check setting of %s: %w", name, err)
	}
	if set.IntervalMinutes == 0 {
		return text(fmt.Sprintf("Auto checking stopped for %s. Call check to read messages.", name)), nil, nil
	}
	return text(fmt.Sprintf("Auto checking started for %s: new messages are shown every %s (through the hooks ipcmesh install sets up).", name, human.Count(set.IntervalMinutes, "minute"))), nil, nil
}
