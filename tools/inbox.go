package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// inboxURI names the inbox resource: the unread messages of this instance,
// as text. Clients that cannot take channel notifications subscribe to it
// and are told (notifications/resources/updated) when mail arrives.
// Reading it marks nothing read: check does that.
const inboxURI = "ipc://inbox"

func (c *core) addInbox() {
	c.mcp.AddResource(&mcp.Resource{
		URI:         inboxURI,
		Name:        "inbox",
		Description: "Unread ipcmesh messages for this instance. Reading does not mark them read; the check tool does.",
		MIMEType:    "text/plain",
	}, c.readInbox)
}

func (c *core) readInbox(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	p, name, err := c.id.registered(ctx, "read the inbox")
	if err != nil {
		return nil, err
	}
	r, err := p.Check(ctx, checkLimit, 0)
	if err != nil {
		return nil, c.fail("read the inbox", err)
	}
	var b strings.Builder
	if len(r.Messages) == 0 {
		fmt.Fprintf(&b, "No unread messages for %s.\n", name)
	} else {
		fmt.Fprintf(&b, "%s for %s (call check to read them and mark them read):\n", human.Count(len(r.Messages)+r.Remaining, "unread message"), name)
		body, n := c.fitting(r.Messages, false)
		b.WriteString(body)
		if more := r.Remaining + len(r.Messages) - n; more > 0 {
			fmt.Fprintf(&b, "\n(%d more not shown)\n", more)
		}
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{
		{URI: inboxURI, MIMEType: "text/plain", Text: b.String()},
	}}, nil
}

// subscribe subscribes the client to the inbox. A subscriber wants the
// mail of IPC_NAME pushed, so the name is registered now if no tool call
// has done it yet; if it cannot be, the tools say why.
func (s *Server) subscribe(ctx context.Context, req *mcp.SubscribeRequest) error {
	if req.Params.URI != inboxURI {
		return fmt.Errorf("no resource %q to subscribe to: the only one is %s", req.Params.URI, inboxURI)
	}
	if s.opts.Name != "" {
		s.registered(ctx, "subscribe to the inbox")
	}
	return nil
}

func (s *Server) unsubscribe(ctx context.Context, req *mcp.UnsubscribeRequest) error {
	return nil
}
