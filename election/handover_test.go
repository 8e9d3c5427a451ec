package election

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/store"
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

// A peer that starts while a compact or restore works on a folder no
// broker serves finds the port held by the command, waits, and hosts the
// broker once the work is done; before, it won the free port, failed for
// the store's lock after 3 s and gave up, blaming another broker. The
// work holds the store, as a compact does, for longer than a hello waits
// for its answer, so that the peer waits on the record, not the hello.
// An ipcmesh stop meanwhile says what is under way, and does not advise
// killing it.
func TestPeerWaitsForWorkOnTheFolder(t *testing.T) {
	m := newMesh(t)
	cfg := m.config()
	holding := make(chan struct{})
	joined := make(chan error, 1)
	worked := make(chan error, 1)
	var stopErr error
	go func() {
		worked <- holdingPort(cfg, opCompact, func() error {
			s, err := store.Open(store.Options{Dir: cfg.DataDir})
			if err != nil {
				return err
			}
			close(holding)
			_, stopErr = StopBroker(ctxT(t), cfg) // waits out a hello's HelloTimeout
			select {
			case err := <-joined:
				joined <- err
				s.Close()
				return fmt.Errorf("a peer joined while the store was held: %v", err)
			case <-time.After(time.Second):
			}
			return s.Close()
		})
	}()
	<-holding
	var p *Peer
	go func() {
		var err error
		p, err = Join(ctxT(t), cfg)
		joined <- err
	}()
	if err := <-worked; err != nil {
		t.Fatal(err)
	}
	if stopErr == nil || !strings.Contains(stopErr.Error(), "is compacting the store") || strings.Contains(stopErr.Error(), "kill") {
		t.Errorf("ipcmesh stop while the store is compacted: %v; want it to say a compact is under way, and not to advise a kill", stopErr)
	}
	if err := <-joined; err != nil {
		t.Fatalf("a peer that started while the store was compacted: %v; want it to wait and then serve", err)
	}
	defer p.Close()
	if !p.IsBroker() {
		t.Error("the peer did not host the broker once the work was done")
	}
}
