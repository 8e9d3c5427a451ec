package cli

import (
	"context"
	"fmt"
	"strings"
)

// runSetStatus sets the status line (and description) that list shows
// next to this instance's name. `ipcmesh status` is the broker's status.
func runSetStatus(ctx context.Context, e Env, args []string) (err error) {
	c := asName("set-status")
	description := c.String("description", "", "what this instance is for (project, role)")
	p, pos, err := c.open(ctx, e, args, argCount(1, -1, `set-status needs a status line ("" clears it)`))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	status := strings.Join(pos, " ")
	if err := p.SetStatus(ctx, status, *description); err != nil {
		return err
	}
	if status == "" {
		fmt.Fprintf(e.Stdout, "cleared the status of %s\n", p.Name())
	} else {
		fmt.Fprintf(e.Stdout, "status of %s: %s\n", p.Name(), status)
	}
	return nil
}
