package tools_test

// The bound server (NewBound) as the HTTP face serves it: in-process peers
// on a private mesh, the server behind mcp.NewStreamableHTTPHandler on an
// httptest server, and the go-sdk client on the other end.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sharedFace is mcptest.Face serving one bound server for every request,
// as the HTTP face may to save building one each time.
func sharedFace(p *election.Peer) http.Handler {
	srv := tools.NewBound(p, tools.BoundOptions{Version: "test"})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, &mcp.StreamableHTTPOptions{Stateless: true})
	return mcptest.RequireKey(h)
}

// serveStdio runs New's server over in-memory transports, as `ipcmesh mcp`
// does over stdio, and connects a client to it.
func serveStdio(t *testing.T, cfg election.Config) *mcptest.Client {
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
	return mcptest.Connect(t, ct, "")
}

func TestBoundListsWhatStdioLists(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	ts := httptest.NewServer(mcptest.Face(alice, true))
	defer ts.Close()
	bound := mcptest.ConnectHTTP(t, ts.URL, ts.Client(), "")
	stdio := serveStdio(t, cfg)

	bt, bp, br := bound.Listings()
	st, sp, sr := stdio.Listings()
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

	init := bound.Session.InitializeResult()
	mcptest.Contains(t, "instructions", init.Instructions, "act as alice", "call check")
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
			cfg := mcptest.MeshConfig(t)
			alice := mcptest.JoinAs(t, cfg, "alice")
			bob := mcptest.JoinAs(t, cfg, "bob")
			h := mcptest.Face(alice, true)
			if tc.shared {
				h = sharedFace(alice)
			}
			ts := httptest.NewServer(h)
			defer ts.Close()
			c := mcptest.ConnectHTTP(t, ts.URL, ts.Client(), tc.version)
			ctx := t.Context()

			mcptest.Contains(t, "register", c.OK("register", map[string]any{"name": ""}), "You are alice", "bound", `send to "alice"`)
			mcptest.Contains(t, "register alice", c.OK("register", map[string]any{"name": "alice"}), "You are alice")
			mcptest.Contains(t, "register bob", c.Fails("register", map[string]any{"name": "bob"}),
				"acts as alice", "key is bound to alice", "ipcmesh key create bob")
			mcptest.Contains(t, "register bad name", c.Fails("register", map[string]any{"name": "no way"}), "letters, digits")
			mcptest.Contains(t, "rename", c.Fails("rename", map[string]any{"new_name": "carol"}),
				"acts as alice", "key is bound to alice", "ipcmesh key create carol")
			mcptest.Contains(t, "auto_check", c.Fails("auto_check", map[string]any{"interval_minutes": 5}), "hooks", "call check")
			if alice.Name() != "alice" {
				t.Errorf("after rename and register, the peer acts as %q", alice.Name())
			}

			mcptest.Contains(t, "send", c.OK("send", map[string]any{"to": "bob", "content": "hi from http"}), "Delivered to bob")
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
			mcptest.Contains(t, "register with mail", c.OK("register", map[string]any{"name": "alice"}), "1 unread message waiting")
			mcptest.Contains(t, "check", c.OK("check", nil), "1 new message for alice", "hi back")
			mcptest.Contains(t, "list_instances", c.OK("list_instances", nil), "alice (you): online", "bob: online")

			// A waiting check reports progress over the request's stream,
			// and returns when mail comes.
			done := mcptest.WaitingCheck(ctx, c.Session, "wait-1")
			select {
			case tok := <-c.Progress:
				if tok != "wait-1" {
					t.Fatalf("progress for token %v, want wait-1", tok)
				}
			case r := <-done:
				t.Fatalf("check returned before any mail: %v %+v", r.Err, r.Res)
			}
			if _, err := bob.Send(ctx, "alice", "wake up"); err != nil {
				t.Fatal(err)
			}
			got := mcptest.Await(t, done, "the waiting check")
			if got.Err != nil || got.Res.IsError {
				t.Fatalf("waiting check: %v %s", got.Err, mcptest.ResultText(got.Res))
			}
			mcptest.Contains(t, "waiting check", mcptest.ResultText(got.Res), "From bob", "wake up")
		})
	}
}

// TestSendStatesTheLargeMessageSize: send's description says over what
// size a message is large, as the mesh is configured, on either server.
func TestSendStatesTheLargeMessageSize(t *testing.T) {
	sendDescription := func(c *mcptest.Client) string {
		t.Helper()
		res, err := c.Session.ListTools(t.Context(), nil)
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
	bound := func(p *election.Peer, opts tools.BoundOptions) *mcptest.Client {
		ct, st := mcp.NewInMemoryTransports()
		ss, err := tools.NewBound(p, opts).Connect(t.Context(), st, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ss.Close() })
		return mcptest.Connect(t, ct, "")
	}
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	mcptest.Contains(t, "bound, default", sendDescription(bound(alice, tools.BoundOptions{})), "Texts over 10 KiB reach X")
	mcptest.Contains(t, "bound, 2048", sendDescription(bound(alice, tools.BoundOptions{LargeMessageBytes: 2048})), "Texts over 2 KiB reach X")
	cfg.Store.LargeMessageBytes = 200
	mcptest.Contains(t, "stdio, 200", sendDescription(serveStdio(t, cfg)), "Texts over 200 bytes reach X")
}

// TestBoundLeavesNothingRunning: once the requests are served and the
// connections closed, no goroutine of the SDK or of the tools is left,
// however many servers were built.
func TestBoundLeavesNothingRunning(t *testing.T) {
	before := lastGoroutine()
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	ts := httptest.NewServer(mcptest.Face(alice, true))
	c := mcptest.ConnectHTTP(t, ts.URL, ts.Client(), "")
	for range 10 {
		c.OK("send", map[string]any{"to": "bob", "content": "ping"})
		c.OK("list_instances", nil)
		// A waiting check with a progress token starts a reporter.
		if _, err := bob.Send(t.Context(), "alice", "pong"); err != nil {
			t.Fatal(err)
		}
		params := &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 60}}
		params.SetProgressToken("p")
		if res, err := c.Session.CallTool(t.Context(), params); err != nil || res.IsError {
			t.Fatalf("check: %v %+v", err, res)
		}
	}
	for range 100 {
		tools.NewBound(alice, tools.BoundOptions{})
	}
	c.Session.Close()
	ts.Close() // waits for the requests in flight
	awaitGone(t, before, "the bound servers' goroutines", "modelcontextprotocol/go-sdk", "ipcmesh/ipcmesh/tools.")
}

func BenchmarkNewBound(b *testing.B) {
	cfg := mcptest.MeshConfig(b)
	alice := mcptest.JoinAs(b, cfg, "alice")
	tools.NewBound(alice, tools.BoundOptions{}) // make the shared schemas once
	b.ReportAllocs()
	for b.Loop() {
		tools.NewBound(alice, tools.BoundOptions{Version: "bench"})
	}
}

// TestLargeMessageReadWholeOverHTTP: a model on another machine cannot
// open the file of a large message on the mesh's machine, so check points
// it at history with the message's id, which pages through the whole text.
func TestLargeMessageReadWholeOverHTTP(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	cfg.Store.LargeMessageBytes = 200
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	ts := httptest.NewServer(mcptest.Face(alice, true))
	defer ts.Close()
	c := mcptest.ConnectHTTP(t, ts.URL, ts.Client(), "")

	var big strings.Builder
	for i := range 4000 {
		fmt.Fprintf(&big, "line %d of the report, where nothing happens\n", i)
	}
	big.WriteString("THE END")
	r, err := bob.Send(t.Context(), "alice", big.String())
	if err != nil {
		t.Fatal(err)
	}
	id := r.Message.ID
	got := c.OK("check", nil)
	mcptest.Contains(t, "check", got, "large message", "history with id "+id)
	mcptest.NotContains(t, "check", got, "large-messages", cfg.DataDir)

	var pages int
	var text strings.Builder
	for offset := 0; ; pages++ {
		if pages > 10 {
			t.Fatalf("still reading after %d pages at offset %d", pages, offset)
		}
		page := c.OK("history", map[string]any{"id": id, "offset": offset})
		mcptest.Contains(t, "a page", page, "From bob")
		mcptest.NotContains(t, "a page", page, "large message")
		for _, l := range strings.Split(page, "\n") {
			if q, ok := strings.CutPrefix(l, "> "); ok {
				text.WriteString(q)
			}
		}
		_, rest, more := strings.Cut(page, "history with id "+id+" and offset ")
		if !more {
			break
		}
		if _, err := fmt.Sscanf(rest, "%d", &offset); err != nil {
			t.Fatalf("a page's next offset: %v in %q", err, page)
		}
	}
	if want := strings.ReplaceAll(big.String(), "\n", ""); text.String() != want {
		t.Errorf("the pages hold %d bytes of text (lines joined), want the %d of the message", text.Len(), len(want))
	}
	if pages < 2 {
		t.Errorf("%d bytes came in %d page(s), want several", big.Len(), pages+1)
	}
	mcptest.Contains(t, "at the end", c.OK("history", map[string]any{"id": id, "offset": big.Len()}),
		fmt.Sprintf("offset %d is the end of its %d bytes: there is nothing after it", big.Len(), big.Len()))
	mcptest.Contains(t, "past the end", c.Fails("history", map[string]any{"id": id, "offset": big.Len() + 1}), "past the end")
	mcptest.Contains(t, "offset alone", c.Fails("history", map[string]any{"with": "bob", "offset": 5}), "give its id too")

	// An offset worked out by the model may fall inside a character: the
	// page begins at that character, not with bytes that are no text.
	r, err = bob.Send(t.Context(), "alice", strings.Repeat("é", 300))
	if err != nil {
		t.Fatal(err)
	}
	page := c.OK("history", map[string]any{"id": r.Message.ID, "offset": 101})
	mcptest.Contains(t, "a page from inside a character", page, "(bytes 100 to 600 of its 600)", "> "+strings.Repeat("é", 250)+"\n")
	if !utf8.ValidString(page) || strings.Contains(page, "\uFFFD") {
		t.Errorf("a page from inside a character holds bytes that are no text: %q", page[:min(len(page), 200)])
	}
}
