package cli

import (
	"context"
	"fmt"
)

func runRegister(ctx context.Context, e Env, args []string) (err error) {
	c := onMesh("register")
	asJSON := c.Bool("json", false, "print the session as JSON")
	p, pos, err := c.open(ctx, e, args, argCount(1, 1, "register needs one name"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	s, err := p.Register(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, s)
	}
	verb := "registered as"
	if s.Resumed {
		verb = "resumed the session of"
	}
	fmt.Fprintf(e.Stdout, "%s %s (%d unread); commands from this data folder now act as %s\n", verb, s.Name, s.Unread, s.Name)
	return nil
}

func runRename(ctx context.Context, e Env, args []string) (err error) {
	p, pos, err := asName("rename").open(ctx, e, args, argCount(1, 1, "rename needs the new name"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	old := p.Name()
	s, err := p.Rename(ctx, pos[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "renamed %s to %s (%d unread moved along); mail to %s is forwarded for 2 hours\n", old, s.Name, s.Unread, old)
	return nil
}

func runUnregister(ctx context.Context, e Env, args []string) (err error) {
	p, _, err := asName("unregister").open(ctx, e, args, nil)
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
