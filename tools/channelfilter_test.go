package tools_test

import (
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// A channel given where a tool filters by an instance's name (check's
// from, history's with, search's from) is answered with what shows the
// channel's posts: with its '#', before anything is read; without it, as
// no instance goes by that name, after the empty result. A model told only
// that no instance is called ops would wait in vain for mail from it.
func TestChannelGivenForAnInstanceSaysWhatReadsIt(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := serveStdio(t, cfg)
	alice.OK("register", map[string]any{"name": "alice"})
	alice.OK("channels", map[string]any{"action": "create", "name": "ops"})
	bob := serveStdio(t, cfg)
	bob.OK("register", map[string]any{"name": "bob"})
	bob.OK("channels", map[string]any{"action": "join", "name": "ops"})
	bob.OK("send", map[string]any{"to": "#ops", "content": "deploy at five"})

	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"check", map[string]any{"from": "#ops"}, "from takes an instance's name, and #ops is a channel: check without from shows its new posts"},
		{"history", map[string]any{"with": "#ops"}, `with takes an instance's name, and #ops is a channel: history with channel "ops" shows its posts`},
		{"search", map[string]any{"query": "deploy", "from": "#ops"}, `from takes an instance's name, and #ops is a channel: search with channel "ops" finds its posts`},
	} {
		mcptest.Contains(t, tc.tool, alice.Fails(tc.tool, tc.args), tc.want)
	}
	for _, tc := range []struct {
		tool string
		args map[string]any
		want string
	}{
		{"check", map[string]any{"from": "ops"}, "#ops is a channel: check without from shows its new posts"},
		{"history", map[string]any{"with": "ops"}, `#ops is a channel: history with channel "ops" shows its posts`},
		{"search", map[string]any{"query": "deploy", "from": "ops"}, `#ops is a channel: search with channel "ops" finds its posts`},
	} {
		mcptest.Contains(t, tc.tool, alice.OK(tc.tool, tc.args), "No instance is registered as ops", tc.want)
	}
	// The post the filters missed is still unread.
	mcptest.Contains(t, "check", alice.OK("check", nil), "deploy at five")
	// A name that is no channel gets no such words.
	mcptest.NotContains(t, "check from carol", alice.OK("check", map[string]any{"from": "carol"}), "is a channel")
}
