package cli

import (
	"context"
	"fmt"
	"strings"
)

// runSetStatus sets the status line (and description) that list shows
// next to this instance's name. `ipcmesh status` is the broker's status.
func runSetStatus(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("set-status")
	var id identity
	id.register(fs)
	description := fs.String("description", "", "what this instance is for (project, role)")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef(`set-status needs a status line ("" clears it)`)
	}
	status := strings.Join(pos, " ")
	p, err := id.session(ctx, e, false, nil)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
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
