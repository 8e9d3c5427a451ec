package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
)

func runRegister(ctx context.Context, e Env, args []string) (err error) {
	c := onMesh("register")
	asJSON := c.Bool("json", false, "print the session as JSON")
	p, pos, err := c.open(ctx, e, args, argCount(1, 1, "register needs one name"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	before := p.DefaultName()
	s, err := p.Register(ctx, pos[0])
	if err != nil {
		return err
	}
	if twin := p.CaseTwin(ctx, s.Name); twin != "" && !s.Resumed {
		fmt.Fprintf(e.Stderr, "warning: %s and %s are two instances: names differ by case, and mail to %s does not reach %s; if you meant %s, run 'ipcmesh unregister --as %s' and 'ipcmesh register %s'\n", s.Name, twin, twin, s.Name, twin, s.Name, twin)
	}
	if *asJSON {
		return printJSON(e.Stdout, s)
	}
	verb := "registered as"
	if s.Resumed {
		verb = "resumed the session of"
	}
	w := &errWriter{w: e.Stdout}
	fmt.Fprintf(w, "%s %s (%d unread)\n", verb, s.Name, s.Unread)
	if s.EndedForward != "" {
		fmt.Fprintf(w, "%s had been renamed to %s: mail to %s reaches %s again, no longer %s\n", s.Name, s.EndedForward, s.Name, s.Name, s.EndedForward)
	}
	fmt.Fprint(w, describeDefault(s.Name, before, e.Getenv("IPC_NAME")))
	return w.err
}

// describeDefault says, after a register, whom later commands act as: the
// data folder's default name (now name, before it was before) is shared by
// every terminal, and IPC_NAME overrides it in this one.
func describeDefault(name, before, env string) string {
	msg := fmt.Sprintf("%s is now this data folder's default name: commands without --as or IPC_NAME act as %s, in every terminal", name, name)
	if before != "" && before != name {
		msg += fmt.Sprintf(" (they acted as %s until now; to act as several names, give each terminal its own with IPC_NAME=NAME or --as NAME)", before)
	}
	msg += "\n"
	if env != "" && env != name {
		msg += fmt.Sprintf("IPC_NAME=%s is set here, so commands in this terminal still act as %s: use --as %s, or set IPC_NAME=%s\n", env, env, name, name)
	}
	return msg
}

func runRename(ctx context.Context, e Env, args []string) (err error) {
	c := asName("rename")
	c.id.sessionOnly = "rename"
	p, pos, err := c.open(ctx, e, args, argCount(1, 1, "rename needs the new name"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	old := p.Name()
	if from := p.RenamedFrom(); from != "" && old == pos[0] {
		// Opening the session picked up this very rename, which an
		// earlier run sent and got no answer to: it is done now.
		old = from
	}
	s, err := p.Rename(ctx, pos[0])
	var refused *ipcmesh.Error
	if err != nil && !errors.As(err, &refused) {
		// Unanswered: the broker may still carry the rename out, and
		// the data folder keeps what the next command needs to find out.
		return fmt.Errorf("%w. The rename may still be carried out once the broker answers; run the same rename again (once it answers, or another broker has taken its place) to finish it or do it: it is done once", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "renamed %s to %s (%d unread moved along); mail to %s is forwarded for 2 hours\n", old, s.Name, s.Unread, old)
	if s.EndedForward != "" {
		fmt.Fprintf(e.Stdout, "%s had been renamed to %s: mail to %s reaches you now, no longer %s\n", s.Name, s.EndedForward, s.Name, s.EndedForward)
	}
	if twin := p.CaseTwin(ctx, s.Name); twin != "" {
		fmt.Fprintf(e.Stderr, "warning: %s and %s are two instances: names differ by case, and mail to %s does not reach %s\n", s.Name, twin, twin, s.Name)
	}
	// An assistant acting as old is renamed with it: the auto-check
	// setting its hooks read follows, as the rename tool moves it.
	if err := autocheck.Move(p.DataDir(), old, s.Name); err != nil {
		fmt.Fprintf(e.Stderr, "%v: set it again with the auto_check tool\n", err)
	}
	if p.DefaultName() == s.Name {
		fmt.Fprintf(e.Stdout, "%s is now this data folder's default name, as %s was\n", s.Name, old)
	}
	return nil
}

func runUnregister(ctx context.Context, e Env, args []string) (err error) {
	c := asName("unregister")
	c.id.sessionOnly = "unregister"
	p, _, err := c.open(ctx, e, args, noName("unregister", "unregister"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	name := p.Name()
	if err := p.Unregister(ctx); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "unregistered %s: the name is free; its unread mail stays until it registers again\n", name)
	return nil
}

// noSuchInstance is what a result that found nothing from or with name
// adds when no instance is registered as name (see Peer.UnknownName), ""
// otherwise. The MCP tools say the same.
func noSuchInstance(ctx context.Context, p *election.Peer, name string) string {
	return p.UnknownName(ctx, name, "ipcmesh list")
}
