package remote_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestStoppedBridgeEndsAWaitingCheck: a bridge told to stop (SIGTERM
// cancels its context) while a check it forwarded waits for mail at the
// face returns at once. It used to wait for the face's answer, up to the
// check's wait_seconds, and the face's check took the next message that
// came and answered it to a client that was gone.
func TestStoppedBridgeEndsAWaitingCheck(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	ts := httptest.NewTLSServer(mcptest.Face(alice, true))
	defer ts.Close()
	// The stand-in face does not end a call whose request is gone, as
	// the HTTP face does: mail ends its check, and lets Close return.
	defer bob.Send(context.Background(), "alice", "the end")
	ct, st := mcp.NewInMemoryTransports()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- remote.Serve(ctx, remote.Options{URL: ts.URL, Key: mcptest.Key, HTTPClient: ts.Client(), Version: "test"}, st)
	}()
	c := mcptest.Connect(t, ct, "")

	waited := mcptest.WaitingCheck(t.Context(), c.Session, "wait-stop")
	select {
	case <-c.Progress:
	case r := <-waited:
		t.Fatalf("check returned before any mail: %v %+v", r.Err, r.Res)
	}
	stop()
	// The wait is 300 s; a bridge that ends its calls returns at once.
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve told to stop: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the bridge still serves 20 s after it was told to stop: the waiting check holds it")
	}
}
