package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
	"github.com/ipcmesh/ipcmesh/ipc"

	"github.com/ipcmesh/ipcmesh"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type shareArgs struct {
	Key         string `json:"key" jsonschema:"1-64 letters, digits, '_', '.', ':' or '-'"`
	Content     string `json:"content" jsonschema:"the content (as large as a message may be)"`
	Description string `json:"description,omitempty" jsonschema:"what it is"`
}

type getSharedArgs struct {
	Key    string `json:"key,omitempty" jsonschema:"the key; omit to list every key"`
	Offset int    `json:"offset,omitempty" jsonschema:"with key: read on from this byte of a long value (the previous page says it)"`
}

// addShare adds share and get_shared, which keep content under a key for any
// instance to read: bulk (a report, a diff, a plan) travels once, and
// messages point at the key instead of carrying it.
func (c *core) addShare() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "share",
		Description: `Store content under a key for every instance to read with get_shared, replacing an older value. ` +
			`Use for "share the report as X", "put this where the others can read it". Then point at the key (send with shared) instead of pasting the bulk.`,
	}, c.share)
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name:        "get_shared",
		Description: `Read the content stored under a key with share, a long one in pages of ` + exactSize(wholePage) + ` (offset reads on); without key, list the keys with sizes, descriptions and who stored them, newest first, up to ` + exactSize(maxText) + `. Use for "get the shared X", "what's shared?".`,
	}, c.getShared)
}

func (c *core) share(ctx context.Context, req *mcp.CallToolRequest, in shareArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("share %q", in.Key)
	if err := ipcmesh.ValidateSharedKey(in.Key); err != nil {
		return nil, nil, c.fail(action, err)
	}
	p, _, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	sh, err := p.Share(ctx, in.Key, in.Content, in.Description)
	if err != nil {
		return nil, nil, fmt.Errorf("%w%s", c.fail(action, err), hintFor(err, shareUnansweredHint, shareLostHint))
	}
	return text(fmt.Sprintf("Stored %q (%s). Others read it with get_shared %q; point at it with send (shared %q).", sh.Key, human.Size(sh.Size), sh.Key, sh.Key)), nil, nil
}

func (c *core) getShared(ctx context.Context, req *mcp.CallToolRequest, in getSharedArgs) (*mcp.CallToolResult, any, error) {
	action := "list shared data"
	if in.Key != "" {
		action = fmt.Sprintf("get shared %q", in.Key)
	}
	switch {
	case in.Offset < 0:
		return nil, nil, fmt.Errorf("cannot %s: offset must be 0 or more, got %d", action, in.Offset)
	case in.Offset > 0 && in.Key == "":
		return nil, nil, fmt.Errorf("cannot %s: offset reads on in one shared value: give its key too", action)
	}
	p, _, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	if in.Key != "" {
		// A value may be megabytes, more than a model takes in at once.
		r, err := p.GetSharedPart(ctx, in.Key, ipc.Part{Offset: in.Offset, Limit: wholePage})
		if err != nil {
			return nil, nil, c.fail(action, err)
		}
		sh := r.Shared
		if in.Offset > sh.Size {
			return nil, nil, fmt.Errorf("cannot %s: offset %d is past the end of its content, which has %d bytes", action, in.Offset, sh.Size)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "Shared %q (%s, stored by %s %s", sh.Key, human.Size(sh.Size), sh.StoredBy, human.Ago(sh.Time, now))
		if sh.Description != "" {
			fmt.Fprintf(&b, ": %q", untrusted.Line(sh.Description))
		}
		fmt.Fprintf(&b, "), each line of it after %q:\n%s\n", bodyPrefix, untrusted.Quote(sh.Content, bodyPrefix))
		writeRange(&b, r.Offset, len(sh.Content), sh.Size, fmt.Sprintf("get_shared with key %q", sh.Key))
		return text(b.String()), nil, nil
	}
	list, err := p.ListShared(ctx)
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	if len(list) == 0 {
		return text("Nothing is shared yet: share stores content under a key."), nil, nil
	}
	// Keys stay until they are replaced, so a mesh collects them: the
	// list ends at maxText (lines), and leaves out the oldest.
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(a, b ipcmesh.Shared) int { return b.Time.Compare(a.Time) })
	var b strings.Builder
	fmt.Fprintf(&b, "%s shared, newest first (get_shared with a key reads one):\n", human.Count(len(list), "key"))
	n := lines(&b, list, func(b *strings.Builder, sh ipcmesh.Shared) { writeShared(b, sh, now) })
	if n < len(list) {
		fmt.Fprintf(&b, "(%s not shown, for the length of the list: the oldest, stored %s or before.)\n", human.Count(len(list)-n, "more key"), human.Ago(list[n].Time, now))
	}
	return text(b.String()), nil, nil
}

// writeShared writes one shared key on one line.
func writeShared(b *strings.Builder, sh ipcmesh.Shared, now time.Time) {
	fmt.Fprintf(b, "- %s: %s, stored by %s %s", sh.Key, human.Size(sh.Size), sh.StoredBy, human.Ago(sh.Time, now))
	if sh.Description != "" {
		fmt.Fprintf(b, ": %q", untrusted.Line(sh.Description))
	}
	b.WriteString("\n")
}
