// Package mcptest holds the helpers the MCP tests of tools and tools/remote
// share: a private mesh of in-process peers, a stand-in for the HTTP face's
// /mcp (a bound server behind a key check), a go-sdk client to drive a
// server with, and helpers for tool results and their text.
//
// Only tests import it. It imports tools, so the tests of tools that use it
// are external (package tools_test).
package mcptest

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Key stands in for a key of the HTTP face: RequireKey lets only it in.
const Key = "ipk1_0123456789abcdef_test"

// MeshConfig is a private mesh: a free port, a data folder and the keys of
// a random secret.
func MeshConfig(tb testing.TB) election.Config {
	tb.Helper()
	return election.Config{Addr: testbin.FreeAddr(tb), DataDir: tb.TempDir(), Keys: testbin.RandomKeys(tb), KeepCurrent: true}
}

// JoinAs joins the mesh of cfg in-process and registers name. The peer is
// closed when the test ends.
func JoinAs(tb testing.TB, cfg election.Config, name string) *election.Peer {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := election.Join(ctx, cfg)
	if err != nil {
		tb.Fatalf("join: %v", err)
	}
	tb.Cleanup(func() { p.Close() })
	if _, err := p.Register(ctx, name); err != nil {
		tb.Fatalf("register %s: %v", name, err)
	}
	return p
}

// Face is what the HTTP face serves at /mcp for p: a bound server per
// request (stateless) or per session, behind a stand-in for its key check.
func Face(p *election.Peer, stateless bool) http.Handler {
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server {
		return tools.NewBound(p, tools.BoundOptions{Version: "test"})
	}, &mcp.StreamableHTTPOptions{Stateless: stateless})
	return RequireKey(h)
}

// RequireKey answers 401, as the HTTP face does, unless the request bears
// Key.
func RequireKey(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+Key {
			w.Header().Set("WWW-Authenticate", "Bearer")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error": {"code": "unauthorized", "message": "unknown or revoked key"}}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// withKey adds Key to every request, as a client of the face does.
type withKey struct{ base http.RoundTripper }

func (t withKey) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+Key)
	return t.base.RoundTrip(r)
}
