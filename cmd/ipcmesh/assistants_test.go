package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// mcpClient runs "ipcmesh mcp" on the mesh with extra environment and
// connects the go-sdk client to it, as an assistant does.
func (m *mesh) mcpClient(t *testing.T, env ...string) *mcp.ClientSession {
	t.Helper()
	cs, _ := m.mcpProcess(t, env...)
	return cs
}

// registeredAssistant is an assistant's MCP server acting as name, which
// its first check has registered: a test that breaks the broker next needs
// the name known to the mesh already.
func (m *mesh) registeredAssistant(t *testing.T, name string) *mcp.ClientSession {
	t.Helper()
	cs := m.mcpClient(t, "IPC_NAME="+name)
	assistantCall(t, cs, "check", nil)
	return cs
}

// mcpProcess is mcpClient that also returns the server's process, for a
// test to signal it.
func (m *mesh) mcpProcess(t *testing.T, env ...string) (*mcp.ClientSession, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(ipcmeshBin, "mcp")
	cmd.Env = append(m.environ(), env...)
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(t.Context(), startTimeout)
	defer cancel()
	cs, err := client.Connect(ctx, &mcp.CommandTransport{Command: cmd}, nil)
	if err != nil {
		t.Fatalf("connect to ipcmesh mcp: %v", err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs, cmd
}

// assistantCall calls a tool and returns its text and whether it is an
// error result.
func assistantCall(t *testing.T, cs *mcp.ClientSession, tool string, args map[string]any) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return err.Error(), true
	}
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String(), res.IsError
}
