package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/textpage"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// wholePage bounds the text of one message that one history call with id
// returns, and of one shared value that one get_shared call returns: a
// large message or value may hold megabytes, more than a model can take
// in at once, so it reads on with offset.
const wholePage = 64 << 10

// wholeMessage is history with id: one message the caller may read, with
// its whole text rather than a large message's summary. It is how a model
// that cannot open the file on the mesh's machine (over the HTTP face, or
// another machine's bridge) reads a large message at all. It marks nothing
// read.
func (c *core) wholeMessage(ctx context.Context, id string, offset int) (*mcp.CallToolResult, error) {
	const action = "read the message"
	if offset < 0 {
		return nil, fmt.Errorf("cannot %s: offset must be 0 or more, got %d", action, offset)
	}
	p, _, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, err
	}
	r, err := p.Fetch(ctx, id)
	if err != nil {
		return nil, c.fail(action, err)
	}
	content := r.Content
	if offset > len(content) {
		return nil, fmt.Errorf("cannot %s: offset %d is past the end of its text, which has %d bytes", action, offset, len(content))
	}
	offset = textpage.Start(content, offset)
	end := textpage.End(content, offset, wholePage)
	m := r.Message
	m.Content, m.Large = content[offset:end], false
	var b strings.Builder
	c.writeMessage(&b, m, true)
	if offset > 0 || end < len(content) {
		fmt.Fprintf(&b, "(bytes %d to %d of its %d", offset, end, len(content))
		if end < len(content) {
			fmt.Fprintf(&b, ": for the rest, history with id %s and offset %d", id, end)
		}
		b.WriteString(")\n")
	}
	return text(b.String()), nil
}
