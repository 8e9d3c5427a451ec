package remote_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools/remote"
)

// A --remote whose path the face does not serve (its REST prefix, say) is
// named with the path and what to give instead: the go-sdk's bare "Not
// Found" sent the user to check that the face runs, which it did.
func TestRemotePathNotServed(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcptest.Face(alice, true))
	face := httptest.NewTLSServer(mux)
	defer face.Close()
	got := bridgeFails(t, remote.Options{URL: face.URL + "/api/v1", Key: mcptest.Key, HTTPClient: face.Client()})
	mcptest.Contains(t, "a path not served", got, "404 Not Found", "nothing is served at /api/v1/mcp", "the face's address alone")
	mcptest.NotContains(t, "a path not served", got, "check that the face runs there")
}
