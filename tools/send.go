package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/sent"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sendSchema is the input of send: the send request of the protocol, whose
// id the tool makes itself (messageID).
var sendSchema = schemaOnce[ipc.Outgoing](map[string][]string{"type": ipcmesh.Types()})

// addSend adds send, which delivers one message to an instance or posts it
// to a channel. Its reply always says what became of the message, because
// silent success for a mistyped name is how mail gets lost: a name nobody
// registered yet is queued (and near names suggested), a renamed one is
// forwarded, a channel post says who gets it. The reply is one or two
// sentences and ends with the message's id, which replies and waits refer
// to. The description states the size over which a message is large, as
// the mesh is configured (IPC_LARGE_MESSAGE_BYTES).
func (c *core) addSend() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name:        "send",
		InputSchema: sendSchema(),
		Description: `Send a message to another instance by name, or post it to a channel with to "#name". ` +
			`Use for "msg X: ...", "send to X: ...", "message X ...", "tell X ...", "reply to X ...", "post to #auth-dev: ...", ` +
			`"reply to <id>: ..." (reply_to), "ask X to ..." (type request), "hand off to X" (handoff), "tell X I'm done" (done). ` +
			`The reply says if it was delivered (X online), stored (X offline), queued (X not registered yet; near names suggested), forwarded (X was renamed) or how many members a post reaches, and gives the id. ` +
			`Texts over ` + exactSize(c.largeBytes) + ` reach X as a summary and a file path; for bulk, share it and set shared.`,
	}, c.send)
}

func (c *core) send(ctx context.Context, req *mcp.CallToolRequest, in ipc.Outgoing) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("send to %q", in.To)
	if err := ipcmesh.ValidateType(in.Type); err != nil {
		return nil, nil, c.fail(action, err)
	}
	id, err := messageID(req)
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	p, me, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	if in.To == me {
		// It would only reach this instance's own inbox: a mix-up of names.
		return nil, nil, fmt.Errorf("cannot %s: you are %s; a message to yourself would only reach your own inbox, so nothing was sent. Send to another instance (list_instances shows them)", action, me)
	}
	if in.Type == ipcmesh.TypeMessage {
		in.Type = "" // how the mesh stores the default type
	}
	// Without a key from the client, a send that got no answer lends its
	// id to the same send made again (unanswered).
	memo := id == ""
	var key sendKey
	if memo {
		key = keyOf("send", in)
		id = c.unanswered.id(key)
	}
	r, err := p.SendMessage(ctx, ipc.SendRequest{ID: id, Outgoing: in})
	if hint := unsettledHint(err); memo && c.unanswered.settle(key, id, err) && hint != "" {
		return nil, nil, fmt.Errorf("%w%s", c.fail(action, err), hint)
	}
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	msg := describeSend(r)
	if r.Queued {
		msg += channelMeant(ctx, p, in.To) + broadcastMeant(in.To)
	}
	if in.Shared != "" && !r.Duplicate {
		msg += sharedMissing(ctx, p, in.Shared)
	}
	return text(msg), nil, nil
}

// sharedMissing is what the answer to a send that points at shared key
// adds when nothing is stored under key (see Peer.MissingShared); "" when
// something is.
func sharedMissing(ctx context.Context, p *election.Peer, key string) string {
	missing, near := p.MissingShared(ctx, key)
	if !missing {
		return ""
	}
	s := fmt.Sprintf(" Nothing is shared under %q yet", key)
	if near != "" {
		s += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return s + ": share it, or the readers find nothing there."
}

// channelMeant is what the answer to a send queued for name adds when a
// channel goes by that name (see Peer.ChannelNamed): the model most likely
// meant to post there and left out the '#', and the message now waits for
// an instance that may never come. It is "" otherwise.
func channelMeant(ctx context.Context, p *election.Peer, name string) string {
	if ch, ok := p.ChannelNamed(ctx, name); ok {
		return fmt.Sprintf(" #%s is a channel: to post there, send to \"#%s\" (this message waits for an instance named %s).", ch, ch, name)
	}
	return ""
}

// everyone holds the names a model writes for "every instance": queued for
// one, a message waits for an instance of that name, which none may ever
// register, while the sender meant a broadcast.
var everyone = []string{"all", "everyone", "everybody", "broadcast"}

// broadcastMeant is what the answer to a send queued for name adds when
// name is one of everyone; "" otherwise.
func broadcastMeant(name string) string {
	if !slices.Contains(everyone, strings.ToLower(name)) {
		return ""
	}
	return fmt.Sprintf(" To reach every registered instance, call broadcast instead (this message waits for an instance named %s).", name)
}

// exactSize says n bytes exactly, in the largest unit that divides it:
// "10 KiB" for 10240, "1 MiB", "1500 bytes".
func exactSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// describeSend says what became of a message.
func describeSend(r ipc.SendResult) string {
	m := r.Message
	var s string
	switch r.Fate() {
	case ipc.PostedNobody:
		s = fmt.Sprintf("Posted to #%s, but no other instance is a member yet: nobody gets it in check (history shows it).", m.Channel)
	case ipc.Posted:
		s = fmt.Sprintf("Posted to #%s: it reaches its %s (some online now).", m.Channel, human.Count(r.Members, "other member"))
	case ipc.PostedQuiet:
		s = fmt.Sprintf("Posted to #%s: it reaches its %s on their next check (none online now).", m.Channel, human.Count(r.Members, "other member"))
	case ipc.Queued:
		s = fmt.Sprintf("Queued for %s: no instance has registered that name yet; it gets the message if it registers within %d days.", m.To, r.QueueDays)
		if len(r.Suggestions) > 0 {
			s += fmt.Sprintf(" Did you mean %s? (call list_instances to see every name)", strings.Join(r.Suggestions, " or "))
		}
	case ipc.Delivered:
		s = fmt.Sprintf("Delivered to %s (online).", m.To)
	default:
		s = fmt.Sprintf("Stored for %s (offline): it gets the message on its next check.", m.To)
	}
	s += sent.Words{
		Forwarded: " Forwarded: %[1]s is now called %[2]s; write to %[2]s from now on.",
		Large:     " It is large (%s): readers get a summary and the file %s.",
		Ref:       " Id %s%s.",
		Type:      ", type %s",
		Thread:    ", thread %s",
	}.Endings(r)
	if r.Duplicate {
		// The broker keeps the first message of an id and compares
		// nothing else: a call that reused a key for another text must
		// not read as if that text went out.
		s += " That id was sent before (a retry of the call, or an idempotency key used again): the message above went then, and nothing new was sent now."
	} else if m.Type == ipcmesh.TypeRequest {
		s += fmt.Sprintf(" To wait for the answer: history with thread %q and wait_seconds.", m.ID)
	}
	return s
}
