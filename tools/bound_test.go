package tools_test

// The bound server (NewBound) as the HTTP face serves it: in-process peers
// on a private mesh, the server behind mcp.NewStreamableHTTPHandler on an
// httptest server, and the go-sdk client on the other end.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

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

// sharedFace is face serving one bound server for every request, as the
// HTTP face may to save building one each time.
func sharedFace(p *election.Peer) http.Handler {
	srv := tools.NewBound(p, tools.BoundOptions{Version: "test"})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
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

func (c *client) ok(tool string, args map[string]any) string {
	c.t.Helper()
	text, isErr := c.call(tool, args)
	if isErr {
		c.t.Fatalf("%s(%v) failed: %s", tool, args, text)
	}
	return text
}

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

// serveStdio runs New's server over in-memory transports, as `ipcmesh mcp`
// does over stdio, and connects a client to it.
func serveStdio(t *testing.T, cfg election.Config) *client {
	t.Helper()
	ct, st := mcp.NewInMemoryTransports()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tools.New(tools.Options{Mesh: cfg}).Run(ctx, st) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stdio server: %v", err)
		}
	})
	return connect(t, ct, "")
}

func TestBoundListsWhatStdioLists(t *testing.T) {
	cfg := meshConfig(t)
	alice := joinAs(t, cfg, "alice")
	ts := httptest.NewServer(face(alice, true))
	defer ts.Close()
	bound := connectHTTP(t, ts.URL, ts.Client(), "")
	stdio := serveStdio(t, cfg)

	bt, bp, br := listings(t, bound)
	st, sp, sr := listings(t, stdio)
	if bt != st {
		t.Errorf("tools/list differs:\nbound %s\nstdio %s", bt, st)
	}
	if bp != sp {
		t.Errorf("prompts/list differs:\nbound %s\nstdio %s", bp, sp)
	}
	if br != sr {
		t.Errorf("resources/list differs:\nbound %s\nstdio %s", br, sr)
	}
	t.Logf("tools/list: %d bytes of tools", len(bt))

	init := bound.cs.InitializeResult()
	contains(t, "instructions", init.Instructions, "act as alice", "call check")
	caps := init.Capabilities
	if _, ok := caps.Experimental["claude/channel"]; ok {
		t.Errorf("bound server declares claude/channel, but pushes nothing")
	}
	if caps.Resources == nil || caps.Resources.Subscribe {
		t.Errorf("resources capability %+v: want resources without subscribe", caps.Resources)
	}
}

func TestBoundOverHTTP(t *testing.T) {
	for _, tc := range []struct {
		name, version string
		shared        bool
	}{
		{"per-request/" + latest, latest, false},
		{"per-request/" + legacy, legacy, false},
		{"shared/" + latest, latest, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := meshConfig(t)
			alice := joinAs(t, cfg, "alice")
			bob := joinAs(t, cfg, "bob")
			h := face(alice, true)
			if tc.shared {
				h = sharedFace(alice)
			}
			ts := httptest.NewServer(h)
			defer ts.Close()
			c := connectHTTP(t, ts.URL, ts.Client(), tc.version)
			ctx := t.Context()

			contains(t, "register", c.ok("register", map[string]any{"name": ""}), "You are alice", "bound", `send to "alice"`)
			contains(t, "register alice", c.ok("register", map[string]any{"name": "alice"}), "You are alice")
			contains(t, "register bob", c.fails("register", map[string]any{"name": "bob"}),
				"acts as alice", "key is bound to alice", "ipcmesh key create bob")
			contains(t, "register bad name", c.fails("register", map[string]any{"name": "no way"}), "letters, digits")
			contains(t, "rename", c.fails("rename", map[string]any{"new_name": "carol"}),
				"acts as alice", "key is bound to alice", "ipcmesh key create carol")
			contains(t, "auto_check", c.fails("auto_check", map[string]any{"interval_minutes": 5}), "hooks", "call check")
			if alice.Name() != "alice" {
				t.Errorf("after rename and register, the peer acts as %q", alice.Name())
			}

			contains(t, "send", c.ok("send", map[string]any{"to": "bob", "content": "hi from http"}), "Delivered to bob")
			r, err := bob.Check(ctx, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Messages) != 1 || r.Messages[0].From != "alice" || r.Messages[0].Content != "hi from http" {
				t.Fatalf("bob's check: %+v", r.Messages)
			}
			if _, err := bob.Send(ctx, "alice", "hi back"); err != nil {
				t.Fatal(err)
			}
			contains(t, "register with mail", c.ok("register", map[string]any{"name": "alice"}), "1 unread message waiting")
			contains(t, "check", c.ok("check", nil), "1 new message for alice", "hi back")
			contains(t, "list_instances", c.ok("list_instances", nil), "alice (you): online", "bob: online")

			// A waiting check reports progress over the request's stream,
			// and returns when mail comes.
			done := waitingCheck(ctx, c.cs, "wait-1")
			select {
			case tok := <-c.progress:
				if tok != "wait-1" {
					t.Fatalf("progress for token %v, want wait-1", tok)
				}
			case r := <-done:
				t.Fatalf("check returned before any mail: %v %+v", r.err, r.res)
			}
			if _, err := bob.Send(ctx, "alice", "wake up"); err != nil {
				t.Fatal(err)
			}
			got := await(t, done, "the waiting check")
			if got.err != nil || got.res.IsError {
				t.Fatalf("waiting check: %v %s", got.err, resultText(got.res))
			}
			contains(t, "waiting check", resultText(got.res), "From bob", "wake up")
		})
	}
}

// TestSendStatesTheLargeMessageSize: send's description says over what
// size a message is large, as the mesh is configured, on either server.
func TestSendStatesTheLargeMessageSize(t *testing.T) {
	sendDescription := func(c *client) string {
		t.Helper()
		res, err := c.cs.ListTools(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tool := range res.Tools {
			if tool.Name == "send" {
				return tool.Description
			}
		}
		t.Fatal("no send tool")
		return ""
	}
	bound := func(p *election.Peer, opts tools.BoundOptions) *client {
		ct, st := mcp.NewInMemoryTransports()
		ss, err := tools.NewBound(p, opts).Connect(t.Context(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ss.Close() })
		return connect(t, ct, "")
	}
	cfg := meshConfig(t)
	alice := joinAs(t, cfg, "alice")
	contains(t, "bound, default", sendDescription(bound(alice, tools.BoundOptions{})), "Texts over 10 KiB reach X")
	contains(t, "bound, 2048", sendDescription(bound(alice, tools.BoundOptions{LargeMessageBytes: 2048})), "Texts over 2 KiB reach X")
	cfg.Store.LargeMessageBytes = 200
	contains(t, "stdio, 200", sendDescription(serveStdio(t, cfg)), "Texts over 200 bytes reach X")
}

// TestBoundLeavesNothingRunning: once the requests are served and the
// connections closed, no goroutine of the SDK or of the tools is left,
// however many servers were built.
func TestBoundLeavesNothingRunning(t *testing.T) {
	before := lastGoroutine()
	cfg := meshConfig(t)
	alice := joinAs(t, cfg, "alice")
	bob := joinAs(t, cfg, "bob")
	ts := httptest.NewServer(face(alice, true))
	c := connectHTTP(t, ts.URL, ts.Client(), "")
	for range 10 {
		c.ok("send", map[string]any{"to": "bob", "content": "ping"})
		c.ok("list_instances", nil)
		// A waiting check with a progress token starts a reporter.
		if _, err := bob.Send(t.Context(), "alice", "pong"); err != nil {
			t.Fatal(err)
		}
		params := &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 60}}
		params.SetProgressToken("p")
		if res, err := c.cs.CallTool(t.Context(), params); err != nil || res.IsError {
			t.Fatalf("check: %v %+v", err, res)
		}
	}
	for range 100 {
		tools.NewBound(alice, tools.BoundOptions{})
	}
	c.cs.Close()
	ts.Close() // waits for the requests in flight
	deadline := time.Now().Add(10 * time.Second)
	for {
		left := goroutinesOf(before, "modelcontextprotocol/go-sdk", "ipcmesh/ipcmesh/tools.")
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines left running:\n%s", left)
		}
		time.Sleep(10 * time.Millisecond) // goroutines say nothing when they end
	}
}

func BenchmarkNewBound(b *testing.B) {
	cfg := meshConfig(b)
	alice := joinAs(b, cfg, "alice")
	tools.NewBound(alice, tools.BoundOptions{}) // make the shared schemas once
	b.ReportAllocs()
	for b.Loop() {
		tools.NewBound(alice, tools.BoundOptions{Version: "bench"})
	}
}
