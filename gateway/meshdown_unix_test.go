//go:build unix

package gateway_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/gateway"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestMeshDownBehindTheFaceIs503: the face's broker is killed and the
// face's peer cannot host the next one (its data folder's store is
// damaged). A request is told that the mesh has no broker now, as a 503
// unavailable with Retry-After: the face tries again every second. It
// got a 500 saying only that the face failed to serve the request.
func TestMeshDownBehindTheFaceIs503(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	broker, cfg, owner := startBrokerProcess(t)
	ctl, err := election.Join(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	created, err := ctl.CreateKey(ctx, "alice", "test")
	ctl.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The store the face's peer would serve, once the broker is gone.
	if err := os.WriteFile(store.DatabasePath(cfg.DataDir), []byte(strings.Repeat("not a store ", 2000)), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := new(testbin.Buffer)
	url := serveFace(t, ctx, gateway.Options{Mesh: cfg, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	me := func() (*http.Response, []byte) {
		t.Helper()
		return keyed(t, ctx, "GET", url+"/api/v1/me", created.Key, nil)
	}
	if resp, b := me(); resp.StatusCode != 200 {
		t.Fatalf("GET /api/v1/me with the broker up: %d %s", resp.StatusCode, b)
	}

	if err := broker.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// A request sent before the face's peer saw the broker go went to
	// the lost broker, and is told that instead (ErrAnswerLost).
	testbin.Eventually(t, runTimeout, "the face's peer to find it cannot rejoin the mesh", func() bool {
		return strings.Contains(logs.String(), "cannot rejoin the mesh")
	})
	resp, b := me()
	msg := unavailable(t, "GET /api/v1/me with no broker and none able to start", resp, b,
		"no broker serves the mesh behind this HTTP face", "its log says why", "tries again every second")
	if strings.Contains(msg, cfg.DataDir) {
		t.Errorf("the error %q names the face's data folder", msg)
	}
}
