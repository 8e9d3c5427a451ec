package tools

import (
	"context"
	"fmt"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// setStatusArgs' Description is a pointer: left out, the description set
// before stays (a status changes far more often); "" clears it.
type setStatusArgs struct {
	Status      string  `json:"status" jsonschema:"what you are doing, at most 200 bytes; empty clears it"`
	Description *string `json:"description,omitempty" jsonschema:"what this instance is for (project, role), at most 500 bytes; leave it out to keep the one set before, empty clears it"`
}

// setStatusSchema gives description one type, string: left out is what
// keeps it, not null.
var setStatusSchema = schemaOnce[setStatusArgs](nil)

// addSetStatus adds set_status, which tells the others what this instance is
// doing: list_instances shows the status line and the description next to
// its name.
func (c *core) addSetStatus() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name:        "set_status",
		InputSchema: setStatusSchema(),
		Description: `Set the status line others see next to your name in list_instances, and optionally a description of this instance. Use for "set my status to reviewing auth.go", "I'm busy with X".`,
	}, c.setStatus)
}

func (c *core) setStatus(ctx context.Context, req *mcp.CallToolRequest, in setStatusArgs) (*mcp.CallToolResult, any, error) {
	const action = "set the status"
	p, name, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	set := ipc.SetStatusRequest{Status: in.Status, KeepDescription: in.Description == nil}
	if in.Description != nil {
		set.Description = *in.Description
	}
	if err := p.UpdateStatus(ctx, set); err != nil {
		return nil, nil, c.fail(action, err)
	}
	msg := fmt.Sprintf("Status of %s: %q; list_instances shows it to the others.", name, in.Status)
	if in.Status == "" {
		msg = fmt.Sprintf("Cleared the status of %s.", name)
	}
	// Said either way: a call made for the description alone must not
	// read as if only the status changed.
	switch {
	case in.Description == nil:
	case *in.Description == "":
		msg += " Cleared its description."
	default:
		msg += fmt.Sprintf(" Description: %q.", *in.Description)
	}
	return text(msg), nil, nil
}
