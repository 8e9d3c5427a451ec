package remote_test

// What the bridge's tests stand on: a private mesh of in-process peers, a
// stand-in for the HTTP face's /mcp (a bound server behind a key check),
// and a go-sdk client to drive the bridge with.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// binary is the ipcmesh command built for these tests.
var binary string

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, &binary, raceEnabled)) }

// testKey stands in for a key of the HTTP face: requireKey lets only it in.
const testKey = "ipk1_0123456789abcdef_test"

// meshConfig is a private mesh: a free port, a data folder and the keys of
// a random secret.
func meshConfig(t testing.TB) election.Config {
	t.Helper()
	return election.Config{Addr: testbin.FreeAddr(t), DataDir: t.TempDir(), Keys: testbin.RandomKeys(t), KeepCurrent: true}
}

// joinAs joins the mesh in-process and registers name.
func joinAs(t testing.TB, cfg election.Config, name string) *election.Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := election.Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join: %v", err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := p.Register(ctx, name); err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	return p
}

// face is what the HTTP face serves at /mcp for p: a bound server per
// request (stateless) or per session, behind a stand-in for its key check.
func face(p *election.Peer, stateless bool) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server {
		return tools.NewBound(p, tools.BoundOptions{Version: "test"})
	}, &mcp.StreamableHTTPOptions{Stateless: stateless})
	return requireKey(h)
}

// requireKey answers 401, as the HTTP face does, unless the request bears
// testKey.
func requireKey(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+testKey {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": {"code": "unauthorized", "message": "unknown or revoked key"}}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// withKey adds testKey to every request, as a client of the face does.
type withKey struct{ base http.RoundTripper }

func (t withKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+testKey)
	return t.base.RoundTrip(r)
}

// client is a go-sdk client that records the progress notifications it gets.
type client struct {
	t        *testing.T
	cs       *mcp.ClientSession
	progress chan any
}

// connect connects a client over tr, speaking protocol version (the
// newest if empty).
func connect(t *testing.T, tr mcp.Transport, version string) *client {
	t.Helper()
	c := &client{t: t, progress: make(chan any, 64)}
	cl := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, req *mcp.ProgressNotificationClientRequest) {
			c.progress <- req.Params.ProgressToken
		},
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cs, err := cl.Connect(ctx, tr, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	c.cs = cs
	t.Cleanup(func() { cs.Close() })
	return c
}

// connectHTTP connects a client to the face at url with testKey.
func connectHTTP(t *testing.T, url string, hc *http.Client, version string) *client {
	t.Helper()
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	keyed := &http.Client{Transport: withKey{base}}
	return connect(t, &mcp.StreamableClientTransport{Endpoint: url + "/mcp", HTTPClient: keyed}, version)
}

// call calls a tool and returns its text and whether it is an error result.
func (c *client) call(tool string, args map[string]any) (string, bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), time.Minute)
	defer cancel()
	res, err := c.cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		c.t.Fatalf("%s: %v", tool, err)
	}
	return resultText(res), res.IsError
}

// ok calls a tool that must succeed and returns its text.
func (c *client) ok(tool string, args map[string]any) string {
	c.t.Helper()
	text, isErr := c.call(tool, args)
	if isErr {
		c.t.Fatalf("%s(%v) failed: %s", tool, args, text)
	}
	return text
}

// fails calls a tool that must return an error result and returns its text.
func (c *client) fails(tool string, args map[string]any) string {
	c.t.Helper()
	text, isErr := c.call(tool, args)
	if !isErr {
		c.t.Fatalf("%s(%v) succeeded, want an error result: %s", tool, args, text)
	}
	return text
}

// listings is what a client is offered, as JSON for comparison.
func listings(t *testing.T, c *client) (tools, prompts, resources string) {
	t.Helper()
	ctx := t.Context()
	tl, err := c.cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := c.cs.ListPrompts(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	rl, err := c.cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	js := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return js(tl.Tools), js(pl.Prompts), js(rl.Resources)
}

func resultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// callResult is the outcome of a tool call made in the background.
type callResult struct {
	res *mcp.CallToolResult
	err error
}

// waitingCheck starts a check that waits for mail, with progress token
// tok, and returns where its result will arrive.
func waitingCheck(ctx context.Context, cs *mcp.ClientSession, tok any) <-chan callResult {
	done := make(chan callResult, 1)
	go func() {
		params := &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 300}}
		params.SetProgressToken(tok)
		res, err := cs.CallTool(ctx, params)
		done <- callResult{res, err}
	}()
	return done
}

// await receives from ch. It gives up only shortly before the test binary's
// own deadline (go test -timeout), to say what never came.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	deadline, ok := t.Deadline()
	if !ok {
		return <-ch
	}
	timer := time.NewTimer(time.Until(deadline) - 5*time.Second)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited in vain for %s", what)
	}
	panic("unreachable")
}

func contains(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

func notContains(t *testing.T, what, got string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			t.Errorf("%s = %q, want it without %q", what, got, u)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the writes of a child's stderr
// and the reads of a failing test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
