package gateway

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bearer adds the key to every request, as an MCP client configured with
// a header does.
type bearer struct {
	key  string
	base http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.base.RoundTrip(r)
}

func withKey(key string) *http.Client {
	return &http.Client{Transport: bearer{key: key, base: http.DefaultTransport}}
}

// connect opens an MCP session over t, at the protocol version asked for
// ("" for the SDK's newest).
func connect(t *testing.T, tr mcp.Transport, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(ctxT(t), tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect (protocol %q): %v", version, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// sendAndCheck lists the tools, sends to bob with send, and reads what bob
// sent back with check: the session acts as alice.
func sendAndCheck(t *testing.T, bob *election.Peer, cs *mcp.ClientSession, word string) {
	t.Helper()
	ctx := ctxT(t)
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
	}
	if !slices.Contains(names, "send") || !slices.Contains(names, "check") {
		t.Fatalf("tools = %v, want send and check", names)
	}
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": "ping " + word}})
	if err != nil || res.IsError {
		t.Fatalf("send: %v %s", err, toolText(res))
	}
	got, err := bob.Check(ctx, 0, 0)
	if err != nil || len(got.Messages) != 1 || got.Messages[0].From != "alice" || got.Messages[0].Content != "ping "+word {
		t.Fatalf("bob got %+v, %v", got.Messages, err)
	}
	if _, err := bob.Ack(ctx, []string{got.Messages[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, "alice", "pong "+word); err != nil {
		t.Fatal(err)
	}
	res, err = cs.CallTool(ctx, &mcp.CallToolParams{Name: "check", Arguments: map[string]any{}})
	if err != nil || res.IsError || !strings.Contains(toolText(res), "pong "+word) {
		t.Fatalf("check: %v %q, want pong %s", err, toolText(res), word)
	}
}

func toolText(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func TestMCPStreamable(t *testing.T) { forEachLink(t, testMCPStreamable) }

func testMCPStreamable(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	bob := f.peer("bob")
	key := f.key("alice")
	// The newest protocol (2026-07-28: server/discover, no initialize) and
	// an older one (initialize per request, synthesized by the stateless
	// handler) both work, with the key in a header or in the path.
	for _, version := range []string{"", "2026-07-28", "2025-06-18", "2025-03-26"} {
		t.Run("version="+version, func(t *testing.T) {
			cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key), MaxRetries: -1}, version)
			if version != "" && cs.InitializeResult().ProtocolVersion != version {
				t.Errorf("negotiated %s", cs.InitializeResult().ProtocolVersion)
			}
			sendAndCheck(t, bob, cs, "header "+version)
		})
	}
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/k/" + key + "/mcp", MaxRetries: -1}, "")
	sendAndCheck(t, bob, cs, "path")

	// Without a key there is no MCP.
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	if _, err := c.Connect(ctxT(t), &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", MaxRetries: -1}, nil); err == nil {
		t.Error("connected without a key")
	}
	f.fails(req{method: "POST", path: "/mcp", body: "{}"}, 401, "unauthorized")
}

func TestMCPLegacySSE(t *testing.T) {
	f := newFace(t, nil)
	bob := f.peer("bob")
	key := f.key("alice")
	cs := connect(t, &mcp.SSEClientTransport{Endpoint: f.url + "/sse", HTTPClient: withKey(key)}, "2024-11-05")
	sendAndCheck(t, bob, cs, "sse header")
	// With the key in the path the endpoint the face announces keeps it,
	// so a client that cannot set a header posts with the key too.
	cs = connect(t, &mcp.SSEClientTransport{Endpoint: f.url + "/k/" + key + "/sse"}, "2024-11-05")
	sendAndCheck(t, bob, cs, "sse path")

	// Revoking the key ends its stream: the session's calls fail.
	info, err := f.ctl.CheckKey(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.RevokeKeys(ctxT(t), info.ID, ""); err != nil {
		t.Fatal(err)
	}
	cs.Wait() // returns once the face has ended the stream
	if _, err := cs.ListTools(ctxT(t), nil); err == nil {
		t.Error("the session of a revoked key still answers")
	}

	// Another name's key does not reach alice's session.
	carol := f.key("carol")
	f.fails(req{method: "GET", path: "/sse"}, 401, "unauthorized")
	resp, _ := f.do(req{method: "POST", path: "/sse?sessionid=nosuchsession", key: carol, body: "{}"})
	if resp.StatusCode != 404 {
		t.Errorf("post to an unknown SSE session: %d", resp.StatusCode)
	}
}
