package election

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Work handed over is carried out by the next broker only while the
// command that asked for it still waits, and only on a folder whose store
// is its own: a request left by a command that died is not carried out,
// by surprise, by a broker that starts days later.
func TestPendingHandover(t *testing.T) {
	cfg := Config{DataDir: t.TempDir()}
	write := func(req handoverRequest) {
		t.Helper()
		b, _ := json.Marshal(req)
		if err := os.WriteFile(filepath.Join(cfg.DataDir, handoverRequestFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := pendingHandover(cfg); ok {
		t.Fatal("work is pending in a folder where none was asked")
	}
	write(handoverRequest{ID: "fresh", Op: opCompact, Requested: time.Now().UTC()})
	if req, ok := pendingHandover(cfg); !ok || req.ID != "fresh" {
		t.Errorf("pendingHandover = %+v, %v; want the request just made", req, ok)
	}
	cluster := cfg
	cluster.Cluster.URL = "nats://127.0.0.1:4222"
	if _, ok := pendingHandover(cluster); ok {
		t.Error("work is pending for a broker whose store is a NATS cluster's")
	}
	write(handoverRequest{ID: "stale", Op: opRestore, Requested: time.Now().Add(-handoverRequestTTL - time.Second)})
	if req, ok := pendingHandover(cfg); ok {
		t.Errorf("pendingHandover = %+v; want a request older than %v left alone", req, handoverRequestTTL)
	}
	write(handoverRequest{ID: "unknown", Op: "defragment", Requested: time.Now().UTC()})
	if req, ok := pendingHandover(cfg); ok {
		t.Errorf("pendingHandover = %+v; want work no broker knows left alone", req)
	}
	removeHandoverRequest(cfg.DataDir, "another")
	if _, err := os.Stat(filepath.Join(cfg.DataDir, handoverRequestFile)); err != nil {
		t.Errorf("removing another command's request removed this one: %v", err)
	}
}
