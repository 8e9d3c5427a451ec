package remote

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestUnreachableSaidOnce: a call that fails because the face cannot be
// reached says so once. The words came once from the connection and again
// from the call: "cannot call check: cannot reach the ipcmesh HTTP face
// at URL: cannot reach the ipcmesh HTTP face at URL: ...".
func TestUnreachableSaidOnce(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String() + "/mcp"
	ln.Close() // nothing listens there now
	b := &bridge{endpoint: endpoint, version: "test", http: &http.Client{}, log: slog.New(slog.DiscardHandler)}
	b.client = mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	_, err = b.session(t.Context())
	if err == nil {
		t.Fatal("connected to a closed port")
	}
	msg := b.failure(t.Context(), "call check", err).Error()
	if n := strings.Count(msg, "cannot reach"); n != 1 || !strings.HasPrefix(msg, "cannot call check: cannot reach the ipcmesh HTTP face at "+endpoint) {
		t.Errorf("the failure says %q, want it to say once that the face cannot be reached", msg)
	}
}
