package gateway

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestMCPCallsLogAtDebug: every request to /mcp is an MCP session of its
// own (the endpoint is stateless), whose start and end the go-sdk logs at
// info level: four lines a call, 4 MB in 11 minutes of a busy face, among
// which its warnings were lost. They are logged at debug.
func TestMCPCallsLogAtDebug(t *testing.T) {
	var logs testbin.Buffer
	f := newFace(t, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	bob := f.peer("bob")
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(f.key("alice")), MaxRetries: -1}, "")
	sendAndCheck(t, bob, cs, "logged")

	var info, debug []string
	for _, line := range strings.Split(logs.String(), "\n") {
		switch {
		case strings.Contains(line, "level=INFO"):
			info = append(info, line)
		case strings.Contains(line, "level=DEBUG") && strings.Contains(line, "session"):
			debug = append(debug, line)
		}
	}
	for _, line := range info {
		if strings.Contains(line, "session") || strings.Contains(line, "server connecting") {
			t.Errorf("an MCP session's start or end logged at info: %s", line)
		}
	}
	if len(debug) == 0 {
		t.Errorf("no MCP session logged at debug; the log:\n%s", logs.String())
	}
}
