package cli

import (
	"context"
	"fmt"
)

func runRegister(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("register")
	asJSON := fs.Bool("json", false, "print the session as JSON")
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("register needs one name")
	}
	p, err := join(ctx, e, false, nil)
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
	fs := flags("rename")
	var id identity
	id.register(fs)
	pos, err := parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("rename needs the new name")
	}
	p, err := id.session(ctx, e, false, nil)
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
	fs := flags("unregister")
	var id identity
	id.register(fs)
	if _, err := parse(fs, args, -1); err != nil {
		return err
	}
	p, err := id.session(ctx, e, false, nil)
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
