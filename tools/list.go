package tools

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type listArgs struct{}

// addList adds list_instances, which shows who can be messaged. It needs no
// name, so it is also how an assistant looks before it picks one. One line
// per instance.
func (c *core) addList() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "list_instances",
		Description: `List the instances registered on the ipcmesh: online or offline, last seen, unread count, status line and description; yours and the online ones first, then the most recently seen, up to ` + exactSize(maxText) + `. ` +
			`Use for "who's online?", "list instances", "who can I message?".`,
	}, c.list)
}

func (c *core) list(ctx context.Context, req *mcp.CallToolRequest, in listArgs) (*mcp.CallToolResult, any, error) {
	const action = "list instances"
	p, err := c.id.mesh(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot %s: %w", action, err)
	}
	all, err := p.List(ctx)
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	me := p.Name()
	next := c.unnamedNext(all)
	if len(all) == 0 {
		return text("No instance is registered yet: " + next + "."), nil, nil
	}
	var b strings.Builder
	online := 0
	for _, in := range all {
		if in.Online {
			online++
		}
	}
	fmt.Fprintf(&b, "%s registered, %d online", human.Count(len(all), "instance"), online)
	if me == "" {
		fmt.Fprintf(&b, " (you are not registered: %s)", next)
	}
	b.WriteString(":\n")
	// Instance records outlive their sessions, so a mesh in use for long
	// has many: the list ends at maxText (lines), and what it leaves out
	// are the instances seen longest ago, never this one.
	all = slices.Clone(all)
	rank := func(in ipcmesh.Instance) int {
		switch {
		case me != "" && in.Name == me:
			return 0
		case in.Online:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(all, func(a, b ipcmesh.Instance) int {
		if c := cmp.Compare(rank(a), rank(b)); c != 0 || a.Online {
			return c // the online ones by name, as the broker lists them
		}
		return b.LastSeen.Compare(a.LastSeen)
	})
	now := time.Now()
	n := lines(&b, all, func(b *strings.Builder, in ipcmesh.Instance) { writeInstance(b, in, me, now) })
	if n < len(all) {
		writeNotShown(&b, all[n:])
	}
	return text(b.String()), nil, nil
}

// unnamedNext says what a model that acts as no name should do, as the
// list shows it. The first call that needs a name registers IPC_NAME only
// while no other connected instance holds it (see inUse) and the name is
// valid: otherwise the model must pick one itself, and told that the next
// call registers IPC_NAME, it would call on and be refused each time.
func (c *core) unnamedNext(all []ipcmesh.Instance) string {
	if c.configured == "" {
		return "call register with a name"
	}
	for _, in := range all {
		if in.Name == c.configured && in.Online {
			return fmt.Sprintf("IPC_NAME=%q is in use by another connected instance: call register with another name", c.configured)
		}
	}
	if err := c.id.configuredErr(); err != nil {
		return fmt.Sprintf("IPC_NAME=%q could not be registered (%v): call register with a name", c.configured, err)
	}
	return fmt.Sprintf("your first call that needs a name (check, send, ...) registers %s, the IPC_NAME you were given", c.configured)
}

// writeNotShown says how many instances the list leaves out, and that
// they may be written to all the same.
func writeNotShown(b *strings.Builder, rest []ipcmesh.Instance) {
	online := 0
	for _, in := range rest {
		if in.Online {
			online++
		}
	}
	fmt.Fprintf(b, "(%s not shown, for the length of the list", human.Count(len(rest), "more instance"))
	if online > 0 {
		fmt.Fprintf(b, " (%d of them online)", online)
	}
	b.WriteString(": those seen longest ago. A send to one of their names reaches it all the same.)\n")
}

// writeInstance writes one instance on one line, marking me.
func writeInstance(b *strings.Builder, in ipcmesh.Instance, me string, now time.Time) {
	name := in.Name
	if name == me {
		name += " (you)"
	}
	state := "offline"
	if in.Online {
		state = "online"
	}
	fmt.Fprintf(b, "- %s: %s, last seen %s", name, state, human.Ago(in.LastSeen, now))
	if in.Unread > 0 {
		fmt.Fprintf(b, ", %d unread", in.Unread)
	}
	// A status and a description are the instance's own words: one line
	// each, quoted, so neither can add a line to the list.
	if in.Status != "" {
		fmt.Fprintf(b, ", status %q", untrusted.Line(in.Status))
	}
	if in.Description != "" {
		fmt.Fprintf(b, ", description %q", untrusted.Line(in.Description))
	}
	b.WriteString("\n")
}
