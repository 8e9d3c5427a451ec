package election

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A compact request is carried out by the next broker only while the
// command that wrote it still waits for it, and only on a folder whose
// store is its own: one left by a command that died is not carried out,
// by surprise, by a broker that starts days later.
func TestPendingCompact(t *testing.T) {
	cfg := Config{DataDir: t.TempDir()}
	write := func(req compactRequest) {
		t.Helper()
		b, _ := json.Marshal(req)
		if err := os.WriteFile(filepath.Join(cfg.DataDir, compactRequestFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := pendingCompact(cfg); ok {
		t.Fatal("a compact is pending in a folder where none was asked")
	}
	write(compactRequest{ID: "fresh", Requested: time.Now().UTC()})
	if req, ok := pendingCompact(cfg); !ok || req.ID != "fresh" {
		t.Errorf("pendingCompact = %+v, %v; want the request just made", req, ok)
	}
	cluster := cfg
	cluster.Cluster.URL = "nats://127.0.0.1:4222"
	if _, ok := pendingCompact(cluster); ok {
		t.Error("a compact is pending for a broker whose store is a NATS cluster's")
	}
	write(compactRequest{ID: "stale", Requested: time.Now().Add(-compactRequestTTL - time.Second)})
	if req, ok := pendingCompact(cfg); ok {
		t.Errorf("pendingCompact = %+v; want a request older than %v left alone", req, compactRequestTTL)
	}
	removeCompactRequest(cfg.DataDir, "another")
	if _, err := os.Stat(filepath.Join(cfg.DataDir, compactRequestFile)); err != nil {
		t.Errorf("removing another compact's request removed this one: %v", err)
	}
}
