package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// runChannels lists, finds, creates, joins and leaves channels: the named
// rooms that send '#name' posts to.
func runChannels(ctx context.Context, e Env, args []string) (err error) {
	c := asName("channels")
	description := c.String("description", "", "create: `D`, what the channel is for")
	private := c.Bool("private", false, "create: only members read and post")
	members := c.String("members", "", "create, join: the members to add, as `a,b,c`")
	asJSON := c.Bool("json", false, "print the result as JSON")
	action := "list"
	var pos, list []string
	p, _, err := c.open(ctx, e, args, func(all []string) error {
		pos = all
		if len(pos) > 0 {
			action, pos = pos[0], pos[1:]
		}
		for _, m := range strings.Split(*members, ",") {
			if m = strings.TrimSpace(m); m != "" {
				list = append(list, m)
			}
		}
		return checkChannels(action, pos, *description != "" || *private, len(list) > 0)
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	switch action {
	case "list", "find":
		return listChannels(ctx, e, p, strings.Join(pos, " "), *asJSON)
	case "create":
		r, err := p.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: pos[0], Description: *description, Private: *private, Members: list})
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Stdout, r)
		}
		kind := "public"
		if r.Channel.Private {
			kind = "private"
		}
		fmt.Fprintf(e.Stdout, "created #%s (%s; members: %s); post with: ipcmesh send '#%s' MESSAGE\n", r.Channel.Name, kind, strings.Join(r.Channel.Members, ", "), r.Channel.Name)
		if r.Warning != "" {
			fmt.Fprintf(e.Stdout, "warning: %s\n", r.Warning)
		}
		warnUnknownMembers(ctx, e, p, r.Channel.Name, list)
		return nil
	case "join":
		c, err := p.JoinChannel(ctx, pos[0], list)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.Stdout, c)
		}
		fmt.Fprintf(e.Stdout, "#%s members: %s\n", c.Name, strings.Join(c.Members, ", "))
		warnUnknownMembers(ctx, e, p, c.Name, list)
		return nil
	}
	left, err := p.LeaveChannel(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, ipc.ChannelLeaveResult{NotMember: !left})
	}
	name := strings.TrimPrefix(pos[0], "#")
	if !left {
		fmt.Fprintf(e.Stdout, "not in #%s: nothing to leave\n", name)
		return nil
	}
	fmt.Fprintf(e.Stdout, "left #%s\n", name)
	return nil
}

// warnUnknownMembers warns of the members of a create or join that no
// instance is registered as, as the MCP tool does: the mesh takes any
// valid name as a member, so that an instance may be added before it
// comes, but a mistyped one leaves the instance meant outside the channel
// while the answer lists the typo among the members. The list is a
// courtesy: when it cannot be had, nothing is said.
func warnUnknownMembers(ctx context.Context, e Env, p *election.Peer, channel string, members []string) {
	if len(members) == 0 {
		return
	}
	all, err := p.List(ctx)
	if err != nil {
		return
	}
	known := make([]string, len(all))
	for i, in := range all {
		known[i] = in.Name
	}
	for i, n := range members {
		if slices.Contains(known, n) || slices.Contains(members[:i], n) {
			continue
		}
		fmt.Fprintf(e.Stdout, "warning: no instance is registered as %s", n)
		if near := ipcmesh.NearNames(n, known, 3); len(near) > 0 {
			fmt.Fprintf(e.Stdout, " (did you mean %s?)", strings.Join(near, " or "))
		}
		fmt.Fprintf(e.Stdout, ": it reads #%s once an instance registers that name; ipcmesh channels join %s --members NAME adds the one meant\n", channel, channel)
	}
}

// checkChannels checks the arguments of a channels action, and that the
// create flags (--description, --private) and --members go with it.
func checkChannels(action string, pos []string, createFlags, members bool) error {
	switch action {
	case "list":
		if len(pos) > 0 {
			return usagef("channels list takes no arguments; to search: channels find WORDS")
		}
	case "find":
		if len(pos) == 0 {
			return usagef("channels find needs words to look for")
		}
	case "create", "join", "leave":
		if len(pos) != 1 {
			return usagef("channels %s needs one channel name", action)
		}
	default:
		return usagef("unknown action %q: use list, find, create, join or leave", action)
	}
	if createFlags && action != "create" || members && action != "create" && action != "join" {
		return usagef("--description and --private go with create, --members with create or join")
	}
	return nil
}

func listChannels(ctx context.Context, e Env, p *election.Peer, query string, asJSON bool) error {
	list, err := p.Channels(ctx, query)
	if err != nil {
		return err
	}
	if asJSON {
		if list == nil {
			list = []ipcmesh.Channel{}
		}
		return printJSON(e.Stdout, list)
	}
	if len(list) == 0 {
		if query != "" {
			fmt.Fprintf(e.Stdout, "No channel matches %q.\n", query)
		} else {
			fmt.Fprintln(e.Stdout, "No channels yet: ipcmesh channels create NAME --description D")
		}
		return nil
	}
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHANNEL\tMEMBERS\tMESSAGES\tLAST ACTIVE\tDESCRIPTION")
	for _, c := range list {
		name := "#" + c.Name
		if c.Private {
			name += " (private)"
		}
		members := strings.Join(c.Members, ",")
		if len(c.Members) > 6 {
			members = fmt.Sprintf("%s,+%d", strings.Join(c.Members[:6], ","), len(c.Members)-6)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", name, members, c.Messages, human.Ago(c.LastActive, now), untrusted.Line(c.Description))
	}
	return tw.Flush()
}
