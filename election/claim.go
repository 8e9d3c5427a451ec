package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
	"github.com/ipcmesh/ipcmesh/internal/proc"
)

// A broker run in the foreground (ipcmesh broker, often with its HTTP
// face, under a service manager) that crashed is replaced at once by a
// detached broker, started by whichever peer noticed first. When the
// service manager then starts the foreground broker again, that one
// finds the port served, and stopping the detached broker does not free
// it for long: every peer still running races for the port the moment
// it is let go, and a peer is always quicker than a command that has
// yet to learn that the stop is done. So the foreground broker claims
// the port first, in the data folder, and peers that lose their broker
// while a live process holds a fresh claim dial the port instead of
// binding it, until the claimant serves it.

// claimFile is the claim of the port by a broker run in the foreground
// that takes the place of a detached one.
const claimFile = "broker-claim.json"

// claimTTL bounds how long peers leave the port to a claimant: a
// claimant that binds it does so a moment after the detached broker
// stops; one that died, or hangs, must not keep the mesh without a
// broker for longer than a failover takes.
const claimTTL = 10 * time.Second

// errClaimed is why a peer did not bind the port: another process
// claimed it.
var errClaimed = errors.New("a broker run in the foreground is taking the mesh port")

// portClaim is what claimFile holds.
type portClaim struct {
	PID   int       `json:"pid"`
	Start string    `json:"start,omitempty"` // proc.Started: the pid may be reused
	Made  time.Time `json:"made"`
}

// claimedByOther reports whether another live process claimed the port
// of cfg's data folder less than claimTTL ago.
func claimedByOther(cfg Config) bool {
	b, err := atomicfile.ReadFile(filepath.Join(cfg.DataDir, claimFile))
	if err != nil {
		return false
	}
	var c portClaim
	if json.Unmarshal(b, &c) != nil || c.PID <= 0 || c.PID == os.Getpid() {
		return false
	}
	if age := time.Since(c.Made); age < 0 || age > claimTTL {
		return false
	}
	return proc.Running(c.PID, c.Start)
}

// Host joins cfg's mesh as Join does, to host its broker. When a
// detached broker of the same data folder serves the mesh (one a peer
// started, after the broker run in the foreground was killed, say),
// Host stops it and takes its place, with the peers connected to it
// moving over as they do in any failover. A broker run in the
// foreground, or one of another data folder, is left serving: the
// returned peer is then a client, and the caller says so.
func Host(ctx context.Context, cfg Config) (*Peer, error) {
	p, err := Join(ctx, cfg)
	if err != nil || p.IsBroker() {
		return p, err
	}
	rec, alive := readBrokerRecord(cfg.DataDir)
	if !alive || !rec.Detached || !samePort(rec.Addr, cfg.Addr) {
		return p, nil
	}
	p.Close()
	start, _ := proc.Started(os.Getpid())
	claim, err := json.Marshal(portClaim{PID: os.Getpid(), Start: start, Made: time.Now()})
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cfg.DataDir, claimFile)
	if err := atomicfile.Write(path, append(claim, '\n'), 0o600); err != nil {
		return nil, fmt.Errorf("claim the mesh port for this broker: %w", err)
	}
	defer os.Remove(path)
	if _, err := StopBroker(ctx, cfg); err != nil {
		return nil, fmt.Errorf("take the place of the detached broker (pid %d): %w", rec.PID, err)
	}
	// The peers leave the port to this process for claimTTL; the broker
	// stopped may still be closing its listener or its store.
	deadline := time.Now().Add(claimTTL)
	for {
		p, err := Join(ctx, cfg)
		if err != nil || p.IsBroker() || time.Now().After(deadline) {
			return p, err
		}
		p.Close()
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
