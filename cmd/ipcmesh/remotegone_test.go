package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestRemoteBridgeWhenTheFaceIsGone: the HTTP face that `ipcmesh mcp
// --remote` forwards to is killed. The next tool call is told at once
// that nothing answers at the face's address, and what to do; it waited
// 30 s for the face to come back first, though the call had never
// reached it.
func TestRemoteBridgeWhenTheFaceIsGone(t *testing.T) {
	m := newMesh(t)
	m.startBroker()
	face, base := m.startServe("--http", "127.0.0.1:0")
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)
	cmd := exec.Command(ipcmeshBin, "mcp", "--remote", base)
	cmd.Env = m.withEnv("IPC_KEY=" + key).environ()
	c := mcptest.Connect(t, &mcp.CommandTransport{Command: cmd}, "")
	mcptest.Contains(t, "list_instances through the face", c.OK("list_instances", nil), "human (you)")

	if err := face.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	face.wait(runTimeout)
	// Far more than the answer takes; it took 30 s.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Session.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "human", "content": "anyone there?"}})
	if err != nil {
		t.Fatalf("a call with the face gone: no tool error within 10 s: %v", err)
	}
	if !res.IsError {
		t.Fatalf("a call with the face gone succeeded: %s", mcptest.ResultText(res))
	}
	mcptest.Contains(t, "a call with the face gone", mcptest.ResultText(res),
		"cannot reach the ipcmesh HTTP face at "+base+"/mcp", "connection refused", "ipcmesh serve --http", "--remote", "next call")
}
