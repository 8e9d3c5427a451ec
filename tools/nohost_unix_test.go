//go:build unix

package tools_test

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestRegisterWhereNoBrokerCanStart: nothing takes connections on the
// mesh port, and a program holds it, so no broker can start there
// either. register says so, and what to do, as soon as that is plain:
// it waited about 20 s for an error that named only the refused
// connection (the start-up join, then its own, each trying for 10 s).
func TestRegisterWhereNoBrokerCanStart(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	testbin.BoundNotListening(t, cfg.Addr)
	ct, st := mcp.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- tools.New(tools.Options{Mesh: cfg}).Run(context.Background(), st) }()
	c := mcptest.Connect(t, ct, "")

	// Far more than the answer takes; it took twice this.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Session.CallTool(ctx, &mcp.CallToolParams{Name: "register", Arguments: map[string]any{"name": "alice"}})
	if err != nil {
		t.Fatalf("register with no broker and none able to start: no answer within 10 s: %v", err)
	}
	if !res.IsError {
		t.Fatalf("register with no broker and none able to start succeeded: %s", mcptest.ResultText(res))
	}
	mcptest.Contains(t, "register with no broker and none able to start", mcptest.ResultText(res),
		"no broker answers on "+cfg.Addr, "connection refused",
		"a program holds the port without taking connections", "address already in use", "IPC_PORT")
	c.Session.Close()
	if err := mcptest.Await(t, done, "Run to return"); err != nil {
		t.Errorf("Run: %v", err)
	}
}
