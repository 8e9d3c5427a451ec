package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type channelsArgs struct {
	Action      string   `json:"action" jsonschema:"what to do"`
	Name        string   `json:"name,omitempty" jsonschema:"the channel (create, join, leave)"`
	Description string   `json:"description,omitempty" jsonschema:"create: what the channel is for"`
	Private     bool     `json:"private,omitempty" jsonschema:"create: only members read and post"`
	Members     []string `json:"members,omitempty" jsonschema:"create: the first members; join a private channel: add these"`
	Query       string   `json:"query,omitempty" jsonschema:"find: words of the name or description"`
}

var channelsSchema = schemaOnce[channelsArgs](map[string][]string{"action": {"create", "list", "find", "join", "leave"}})

// addChannels adds channels, which manages the named rooms instances post to
// with send "#name": one tool with an action rather than five, so the
// surface stays small. A private channel is a group conversation: only its
// members read or post, and only a member adds others.
func (c *core) addChannels() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name:        "channels",
		InputSchema: channelsSchema(),
		Description: `Manage channels, the named rooms you post to with send to "#name": create (private: a group only its members read), list (members, messages, last activity; up to ` + exactSize(maxText) + `), find by keyword, join, leave. ` +
			`Use for "create a channel #auth-dev for ...", "list channels", "find a channel about auth", "join #auth-dev", "add X to #auth-dev" (join with members), "leave #auth-dev".`,
	}, c.channels)
}

func (c *core) channels(ctx context.Context, req *mcp.CallToolRequest, in channelsArgs) (*mcp.CallToolResult, any, error) {
	action := in.Action + " channels"
	if in.Name != "" {
		action = fmt.Sprintf("%s %s", in.Action, channelName(in.Name))
	}
	needName := in.Action == "create" || in.Action == "join" || in.Action == "leave"
	if needName && in.Name == "" {
		return nil, nil, fmt.Errorf("cannot %s a channel: name is required", in.Action)
	}
	p, me, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	switch in.Action {
	case "create":
		r, err := p.CreateChannel(ctx, ipc.ChannelCreateRequest{Name: in.Name, Description: in.Description, Private: in.Private, Members: in.Members})
		if err != nil {
			return nil, nil, c.fail(action, err)
		}
		ch := r.Channel
		kind := "public: anyone may join, read and post"
		if ch.Private {
			kind = "private: only members read and post"
		}
		msg := fmt.Sprintf("Created #%s (%s); members: %s. Post with send to \"#%s\".", ch.Name, kind, names(ch.Members, me, 20), ch.Name)
		if r.Warning != "" {
			msg += " Warning: " + r.Warning
		}
		return text(msg + unknownMembers(ctx, p, in.Members)), nil, nil
	case "list", "find":
		if in.Action == "find" && in.Query == "" {
			return nil, nil, fmt.Errorf("cannot find channels: give query, words of the name or description")
		}
		list, err := p.Channels(ctx, in.Query)
		if err != nil {
			return nil, nil, c.fail(action, err)
		}
		if len(list) == 0 {
			if in.Query != "" {
				return text(fmt.Sprintf("No channel matches %q. List them all with action list, or create one.", in.Query)), nil, nil
			}
			return text(`No channels yet. Create one with action create (name, description).`), nil, nil
		}
		var b strings.Builder
		if in.Query != "" {
			fmt.Fprintf(&b, "%s matching %q:\n", human.Count(len(list), "channel"), in.Query)
		} else {
			fmt.Fprintf(&b, "%s:\n", human.Count(len(list), "channel"))
		}
		now := time.Now()
		n := lines(&b, list, func(b *strings.Builder, ch ipcmesh.Channel) { writeChannel(b, ch, me, now) })
		if n < len(list) {
			fmt.Fprintf(&b, "(%s not shown, for the length of the list: find them by keyword with action find and query.)\n", human.Count(len(list)-n, "more channel"))
		}
		return text(b.String()), nil, nil
	case "join":
		before, known := c.membersBefore(ctx, p, in.Name)
		ch, err := p.JoinChannel(ctx, in.Name, in.Members)
		if err != nil {
			return nil, nil, c.fail(action, err)
		}
		// A public channel takes the caller in along with the members.
		selfJoined := !ch.Private && !(known && slices.Contains(before, me))
		if len(in.Members) > 0 {
			// Each name once, as the model may repeat one.
			var added, already []string
			for _, n := range in.Members {
				switch {
				case slices.Contains(added, n) || slices.Contains(already, n):
				case known && slices.Contains(before, n):
					already = append(already, n)
				default:
					added = append(added, n)
				}
			}
			var msg strings.Builder
			switch {
			case len(added) > 0:
				fmt.Fprintf(&msg, "Added %s to #%s", strings.Join(added, ", "), ch.Name)
				if selfJoined {
					msg.WriteString(", and joined it yourself")
				}
			case selfJoined:
				fmt.Fprintf(&msg, "Joined #%s", ch.Name)
			default:
				fmt.Fprintf(&msg, "Nothing changed in #%s", ch.Name)
			}
			switch len(already) {
			case 0:
			case 1:
				fmt.Fprintf(&msg, " (%s was a member already)", already[0])
			default:
				fmt.Fprintf(&msg, " (%s were members already)", strings.Join(already, ", "))
			}
			fmt.Fprintf(&msg, "; members now: %s.", names(ch.Members, me, 20))
			return text(msg.String() + unknownMembers(ctx, p, added)), nil, nil
		}
		if !selfJoined {
			// Joining again changes nothing: saying "Joined" would suggest
			// a fresh start of the read cursor, which it is not.
			return text(fmt.Sprintf("You are in #%s already: nothing changed (%s); members: %s. New posts reach you in check; earlier ones: history with channel %q.", ch.Name, human.Count(ch.Messages, "message"), names(ch.Members, me, 20), ch.Name)), nil, nil
		}
		return text(fmt.Sprintf("Joined #%s (%s); members: %s. New posts reach you in check; earlier ones: history with channel %q.", ch.Name, human.Count(ch.Messages, "message"), names(ch.Members, me, 20), ch.Name)), nil, nil
	case "leave":
		left, err := p.LeaveChannel(ctx, in.Name)
		if err != nil {
			return nil, nil, c.fail(action, err)
		}
		if !left {
			return text(fmt.Sprintf("You were not in %s: nothing changed.", channelName(in.Name))), nil, nil
		}
		return text(fmt.Sprintf("Left %s: its posts no longer reach you.", channelName(in.Name))), nil, nil
	}
	return nil, nil, fmt.Errorf("cannot %s: action must be create, list, find, join or leave", action)
}

// membersBefore returns the members of the channel name as the caller sees
// it before a join, so that the answer says who the join added and who was
// in already; known is false when the channel cannot be seen or the list
// cannot be had, and the answer then takes every name as added.
func (c *core) membersBefore(ctx context.Context, p *election.Peer, name string) (members []string, known bool) {
	norm, err := ipcmesh.NormalizeChannel(name)
	if err != nil {
		return nil, false
	}
	list, err := p.Channels(ctx, norm)
	if err != nil {
		return nil, false
	}
	for _, ch := range list {
		if ch.Name == norm {
			return ch.Members, true
		}
	}
	return nil, false
}

// unknownMembers is what the answer to a create or join that named members
// adds for those no instance is registered as: the mesh takes any valid
// name as a member, so that an instance may be added before it comes,
// but a mistyped one leaves the instance meant outside the channel while
// the answer lists the typo among the members. It is "" when every one is
// registered, and when the list cannot be had: the hint is a courtesy.
func unknownMembers(ctx context.Context, p *election.Peer, members []string) string {
	if len(members) == 0 {
		return ""
	}
	all, err := p.List(ctx)
	if err != nil {
		return ""
	}
	known := make([]string, len(all))
	for i, in := range all {
		known[i] = in.Name
	}
	var s strings.Builder
	for i, n := range members {
		if slices.Contains(known, n) || slices.Contains(members[:i], n) {
			continue
		}
		fmt.Fprintf(&s, " No instance is registered as %s", n)
		if near := ipcmesh.NearNames(n, known, 3); len(near) > 0 {
			fmt.Fprintf(&s, " (did you mean %s?)", strings.Join(near, " or "))
		}
		fmt.Fprintf(&s, ": it reads the channel once an instance registers that name.")
	}
	if s.Len() > 0 {
		s.WriteString(" (list_instances shows every name; channels join with members adds the right one.)")
	}
	return s.String()
}

// writeChannel writes one channel on one line.
func writeChannel(b *strings.Builder, c ipcmesh.Channel, me string, now time.Time) {
	fmt.Fprintf(b, "- #%s", c.Name)
	if c.Private {
		b.WriteString(" (private)")
	}
	if c.Description != "" {
		fmt.Fprintf(b, ": %q;", untrusted.Line(c.Description))
	} else {
		b.WriteString(":")
	}
	fmt.Fprintf(b, " %s", human.Count(len(c.Members), "member"))
	if len(c.Members) > 0 {
		fmt.Fprintf(b, ": %s", names(c.Members, me, 10))
	}
	fmt.Fprintf(b, "; %s", human.Count(c.Messages, "message"))
	if !c.LastActive.IsZero() {
		fmt.Fprintf(b, ", last active %s", human.Ago(c.LastActive, now))
	}
	if !slices.Contains(c.Members, me) {
		b.WriteString(" (you are not a member)")
	}
	b.WriteString("\n")
}
