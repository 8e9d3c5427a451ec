package mcptest

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Client is a go-sdk client session that records the progress
// notifications it gets. Its methods fail the test that connected it.
type Client struct {
	// Session is the go-sdk session, for what the methods do not cover.
	Session *mcp.ClientSession
	// Progress gets the token of every progress notification.
	Progress <-chan any

	tb testing.TB
}

// Connect connects a client over tr, speaking protocol version (the
// newest if empty). The session is closed when the test ends.
func Connect(tb testing.TB, tr mcp.Transport, version string) *Client {
	tb.Helper()
	progress := make(chan any, 64)
	cl := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			progress <- req.Params.ProgressToken
		},
	})
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	cs, err := cl.Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { cs.Close() })
	return &Client{Session: cs, Progress: progress, tb: tb}
}

// ConnectHTTP connects a client to the face at url (its /mcp) with Key,
// over hc's transport (http.DefaultTransport if it has none).
func ConnectHTTP(tb testing.TB, url string, hc *http.Client, version string) *Client {
	tb.Helper()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	keyed := &http.Client{Transport: withKey{base}}
	return Connect(tb, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: keyed}, version)
}

// Call calls a tool and returns its text and whether it is an error result.
func (c *Client) Call(tool string, args map[string]any) (string, bool) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(c.tb.Context(), time.Minute)
	defer cancel()
	res, err := c.Session.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		c.tb.Fatalf("%s: %v", tool, err)
	}
	return ResultText(res), res.IsError
}

// OK calls a tool that must succeed and returns its text.
func (c *Client) OK(tool string, args map[string]any) string {
	c.tb.Helper()
	text, isErr := c.Call(tool, args)
	if isErr {
		c.tb.Fatalf("%s(%v) failed: %s", tool, args, text)
	}
	return text
}

// Fails calls a tool that must return an error result and returns its text.
func (c *Client) Fails(tool string, args map[string]any) string {
	c.tb.Helper()
	text, isErr := c.Call(tool, args)
	if !isErr {
		c.tb.Fatalf("%s(%v) succeeded, want an error result: %s", tool, args, text)
	}
	return text
}

// Listings is what the client is offered, as JSON for comparison.
func (c *Client) Listings() (tools, prompts, resources string) {
	c.tb.Helper()
	ctx := c.tb.Context()
	tl, err := c.Session.ListTools(ctx, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	pl, err := c.Session.ListPrompts(ctx, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	rl, err := c.Session.ListResources(ctx, nil)
	if err != nil {
		c.tb.Fatal(err)
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			c.tb.Fatal(err)
		}
		return string(b)
	}
	return js(tl.Tools), js(pl.Prompts), js(rl.Resources)
}
