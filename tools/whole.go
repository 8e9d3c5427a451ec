package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/ipcmesh/ipcmesh/ipc"
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
	r, err := p.FetchPart(ctx, id, ipc.Part{Offset: offset, Limit: wholePage})
	if err != nil {
		return nil, c.fail(action, err)
	}
	size := r.Message.Size
	if offset > size {
		return nil, fmt.Errorf("cannot %s: offset %d is past the end of its text, which has %d bytes", action, offset, size)
	}
	m := r.Message
	m.Content, m.Large = r.Content, false
	var b strings.Builder
	c.writeMessage(&b, m, true)
	writeRange(&b, r.Offset, len(r.Content), size, fmt.Sprintf("history with id %s", id))
	return text(b.String()), nil
}

// writeRange says where a page of n bytes from start lies in a content of
// size bytes, and how to ask for the rest, unless the page is the whole.
func writeRange(b *strings.Builder, start, n, size int, rest string) {
	end := start + n
	if start == 0 && end == size {
		return
	}
	if n == 0 && start == size {
		// The offset the last page gave, asked for once more: an empty
		// page alone would read as a value or text cut short.
		fmt.Fprintf(b, "(offset %d is the end of its %d bytes: there is nothing after it)\n", start, size)
		return
	}
	fmt.Fprintf(b, "(bytes %d to %d of its %d", start, end, size)
	if end < size {
		fmt.Fprintf(b, ": for the rest, %s and offset %d", rest, end)
	}
	b.WriteString(")\n")
}
