package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// send delivers one message. Its reply always says what became of the
// message, because silent success for a mistyped name is how mail gets
// lost: a name nobody registered yet is queued (and near names suggested),
// a renamed one is forwarded. The reply is one sentence.

type sendArgs struct {
	To      string `json:"to" jsonschema:"the recipient's name"`
	Content string `json:"content" jsonschema:"the message text"`
}

func (s *Server) addSend() {
	mcp.AddTool(s.mcp, &mcp.Tool{
		Name: "send",
		Description: `Send a message to another instance by name. ` +
			`Use for "msg X: ...", "send to X: ...", "message X ...", "tell X ...", "reply to X ...". ` +
			`The reply says if it was delivered (X online), stored (X offline), queued (X not registered yet; near names suggested) or forwarded (X was renamed). ` +
			`Texts over 10 KB reach X as a summary and a file path.`,
	}, s.send)
}

func (s *Server) send(ctx context.Context, req *mcp.CallToolRequest, in sendArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("send to %q", in.To)
	p, _, err := s.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	r, err := p.Send(ctx, in.To, in.Content)
	if err != nil {
		return nil, nil, s.fail(action, err)
	}
	return text(describeSend(r)), nil, nil
}

// describeSend says what became of a message.
func describeSend(r ipc.SendResult) string {
	m := r.Message
	var s string
	switch {
	case r.Queued:
		s = fmt.Sprintf("Queued for %s: no instance has registered that name yet; it gets the message if it registers within %d days.", m.To, r.QueueDays)
		if len(r.Suggestions) > 0 {
			s += fmt.Sprintf(" Did you mean %s? (call list_instances to see every name)", strings.Join(r.Suggestions, " or "))
		}
	case r.Online:
		s = fmt.Sprintf("Delivered to %s (online).", m.To)
	default:
		s = fmt.Sprintf("Stored for %s (offline): it gets the message on its next check.", m.To)
	}
	if r.Forwarded {
		s += fmt.Sprintf(" Forwarded: %s is now called %s; write to %s from now on.", m.SentTo, m.To, m.To)
	}
	if m.Large {
		s += fmt.Sprintf(" It is large (%s): %s gets a summary and the file %s.", humanSize(m.Size), m.To, m.Path)
	}
	return s
}
