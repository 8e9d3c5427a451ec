package tools

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// maxNamed bounds the recipients a broadcast's answer names.
const maxNamed = 20

type broadcastArgs struct {
	Content string `json:"content" jsonschema:"the message text"`
}

// addBroadcast adds broadcast, which sends one message to every other
// registered instance. It costs every recipient's attention, so the
// description steers the model to send when one instance is meant.
func (c *core) addBroadcast() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "broadcast",
		Description: `Send one message to every other registered instance. ` +
			`Use for "broadcast: ...", "tell everyone ...", "announce ...". Use send when one instance is meant.`,
	}, c.broadcast)
}

func (c *core) broadcast(ctx context.Context, req *mcp.CallToolRequest, in broadcastArgs) (*mcp.CallToolResult, any, error) {
	const action = "broadcast"
	id, err := messageID(req)
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	p, _, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	// As for send: an unanswered broadcast lends its id to the same one
	// made again, which then reaches nobody twice.
	memo := id == ""
	var key sendKey
	if memo {
		key = keyOf("broadcast", ipc.Outgoing{Content: in.Content})
		id = c.unanswered.id(key)
	}
	r, err := p.BroadcastMessage(ctx, ipc.BroadcastRequest{ID: id, Content: in.Content})
	if hint := unsettledHint(err); memo && c.unanswered.settle(key, id, err) && hint != "" {
		return nil, nil, fmt.Errorf("%w%s", c.fail(action, err), hint)
	}
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	var b strings.Builder
	if len(r.Recipients) > 0 {
		// Instance records outlive their sessions, so a mesh in use for
		// long has many: name some, and count the rest.
		fmt.Fprintf(&b, "Broadcast to %s: %s (online now: %d).", human.Count(len(r.Recipients), "instance"), names(r.Recipients, "", maxNamed), len(r.Online))
	}
	// The broker keeps the first copy of an id and compares nothing
	// else: a retry must not read as if the text went out again.
	switch {
	case len(r.Duplicate) > 0 && len(r.Duplicate) == len(r.Recipients):
		b.WriteString(" That id was broadcast before (a retry of the call, or an idempotency key used again): every one of them got it then, and nothing new was sent now.")
	case len(r.Duplicate) > 0:
		fmt.Fprintf(&b, " That id was broadcast before (a retry of the call, or an idempotency key used again): %s got it then and nothing new now; only the others got it now.", names(r.Duplicate, "", maxNamed))
	}
	failed := make([]string, 0, len(r.Failed))
	for name := range r.Failed {
		failed = append(failed, name)
	}
	sort.Strings(failed)
	for _, name := range failed {
		fmt.Fprintf(&b, " Not delivered to %s: %s.", name, r.Failed[name])
	}
	if len(r.Recipients) == 0 {
		if len(failed) == 0 {
			return nil, nil, fmt.Errorf("the broadcast reached no one: no other instance is registered (call list_instances to see who is)")
		}
		return nil, nil, fmt.Errorf("the broadcast reached no one.%s", b.String())
	}
	return text(b.String()), nil, nil
}
