package tools

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type searchArgs struct {
	Query   string `json:"query" jsonschema:"words a message must all hold"`
	From    string `json:"from,omitempty" jsonschema:"only messages from this instance"`
	Channel string `json:"channel,omitempty" jsonschema:"only posts to this channel"`
	Since   string `json:"since,omitempty" jsonschema:"only messages since: a duration (24h, 7d) or a date (2026-01-02, RFC 3339)"`
	Until   string `json:"until,omitempty" jsonschema:"only until: as since"`
}

// addSearch adds search, which finds messages by their words across
// everything this instance may read: its direct mail, sent or received, and
// its channels. The broker keeps a word index, so a search costs about the
// same on a large store.
func (c *core) addSearch() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "search",
		Description: `Search the messages you may read (your direct mail, sent or received, and your channels) for words; newest first, at most ` + strconv.Itoa(store.DefaultSearchLimit) + `. ` +
			`Use for "search messages for X", "what did Y say about X?" (from), "find X in #auth-dev" (channel), "X since yesterday" (since 24h).`,
	}, c.search)
}

func (c *core) search(ctx context.Context, req *mcp.CallToolRequest, in searchArgs) (*mcp.CallToolResult, any, error) {
	action := fmt.Sprintf("search for %q", in.Query)
	if err := channelAsInstance(action, "from", in.From, searchReadsChannel); err != nil {
		return nil, nil, err
	}
	since, until, err := human.ParseWindow(in.Since, in.Until, "", time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("cannot %s: %v", action, err)
	}
	p, _, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	r, err := p.Search(ctx, ipc.SearchRequest{Query: in.Query, From: in.From, Channel: in.Channel, Since: since, Until: until})
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	// A query with no words is a listing by the filters alone, and reads
	// better as such than as a match of "".
	what := fmt.Sprintf("%q", in.Query)
	if strings.TrimSpace(in.Query) == "" {
		what = "the filters"
	}
	note := queryNote(in.Query)
	msgs := r.Messages
	if len(msgs) == 0 {
		msg := fmt.Sprintf("No message you may read matches %s.", what)
		if in.From != "" {
			msg += noSuchInstance(ctx, p, in.From, searchReadsChannel)
		}
		if note != "" {
			msg += " " + note
		}
		return text(msg), nil, nil
	}
	body, n := c.fitting(msgs, true)
	var b strings.Builder
	fmt.Fprintf(&b, "%s matching %s, newest first:\n", human.Count(n, "message"), what)
	if note != "" {
		b.WriteString(note + "\n")
	}
	b.WriteString(body)
	switch {
	case n < len(msgs):
		fmt.Fprintf(&b, "\n(%d older matches not shown, for the length of their text: narrow the search with from, channel, since or until.)\n", len(msgs)-n)
	case r.More:
		// until takes the time to the nanosecond, and holds the last
		// message shown: the next search starts with it.
		fmt.Fprintf(&b, "\n(Older messages match too: search again with until %s for them, starting with the last one shown, or narrow the search with from, channel or since.)\n",
			msgs[n-1].Time.UTC().Format(time.RFC3339Nano))
	}
	return text(b.String()), nil, nil
}

// searchReadsChannel says how search finds the posts of the channel ch,
// for a model that gave it as from.
func searchReadsChannel(ch string) string {
	return fmt.Sprintf("search with channel %q finds its posts", ch)
}

// queryNote explains the parts of query that look like search operators,
// which search takes as plain words (see ipcmesh.ExplainQuery), naming the
// argument that does what was meant. It is "" when the query has none.
func queryNote(query string) string {
	note := ipcmesh.ExplainQuery(query, func(name, value string) string { return fmt.Sprintf("%s %q", name, value) })
	if note == "" {
		return ""
	}
	return "(S" + note[1:] + ".)"
}
