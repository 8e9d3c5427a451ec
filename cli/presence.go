package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// runSetStatus sets the status line (and description) that list shows
// next to this instance's name. `ipcmesh status` is the broker's status.
// The description says what the instance is for and changes far less
// often than its status: a status set without --description keeps it.
func runSetStatus(ctx context.Context, e Env, args []string) (err error) {
	c := asName("set-status")
	description := c.String("description", "", "`D`, what this instance is for (project, role); left out, the one set before stays; \"\" clears it")
	p, pos, err := c.open(ctx, e, args, argCount(1, -1, `set-status needs a status line ("" clears it)`))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	req := ipc.SetStatusRequest{Status: strings.Join(pos, " ")}
	if isSet(c.FlagSet, "description") {
		req.Description = *description
	} else {
		req.KeepDescription = true
	}
	if err := p.UpdateStatus(ctx, req); err != nil {
		return err
	}
	msg := fmt.Sprintf("status of %s: %s", p.Name(), req.Status)
	if req.Status == "" {
		msg = "cleared the status of " + p.Name()
	}
	switch {
	case req.KeepDescription:
	case req.Description == "":
		msg += "; cleared its description"
	default:
		msg += "; description: " + req.Description
	}
	_, err = fmt.Fprintln(e.Stdout, msg)
	return err
}
