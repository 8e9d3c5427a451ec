package remote_test

import (
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/tools/remote"
)

// TestBridgeToAHostThatAnswersNothing: a face whose host is down, or
// behind a firewall that drops the connection, answers nothing. The
// bridge waited for Go's dial of 30 s, as long as it gives the whole
// connection, and said only "context deadline exceeded"; it now gives
// each connection DialTimeout and names the address and the likely
// causes.
func TestBridgeToAHostThatAnswersNothing(t *testing.T) {
	addr := testbin.Unanswered(t)
	after := 300 * time.Millisecond
	got := bridgeFails(t, remote.Options{URL: "http://" + addr, Key: mcptest.Key, DialTimeout: after})
	mcptest.Contains(t, "no answer", got, "cannot reach the ipcmesh HTTP face at http://"+addr+"/mcp",
		"nothing answered a connection to "+addr+" within "+after.String(), "firewall", "--remote")
	mcptest.NotContains(t, "no answer", got, "context deadline exceeded")
}
