package election

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
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

// A compact or restore handed over may take minutes (a store of
// gigabytes on a slow disk). Peers wait for the process doing it up to a
// minute, then tell their callers to try again; the command that asked
// for it waits until it is done, for as long as that process lives. It
// gave up with the peers, leaving the user to guess whether the store was
// compacted. The work here is held by the test, as a compact holds the
// folder's port and record.
func TestCommandWaitsOutLongWork(t *testing.T) {
	m := newMesh(t)
	cfg := m.config()
	cfg.openWait = time.Second
	holding := make(chan struct{})
	release := make(chan struct{})
	worked := make(chan error, 1)
	go func() {
		worked <- holdingPort(cfg, opCompact, func() error {
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	var p *Peer
	waited := make(chan error, 1)
	go func() {
		var err error
		p, err = awaitWork(ctxT(t), cfg, opCompact)
		waited <- err
	}()
	// Two peers that start after the command, one after the other, give
	// up: the command has waited longer than a peer waits.
	for range 2 {
		if _, err := Join(ctxT(t), cfg); err == nil || !strings.Contains(err.Error(), "is compacting the store") {
			close(release)
			t.Fatalf("a peer that started during a long compact: %v; want it to give up, saying a compact is under way", err)
		}
	}
	select {
	case err := <-waited:
		close(release)
		t.Fatalf("the command gave up on the compact it asked for while the work went on: %v", err)
	default:
	}
	close(release)
	if err := <-worked; err != nil {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatalf("the command, once the work was done: %v; want it to join the mesh", err)
	}
	defer p.Close()
	if !p.IsBroker() {
		t.Error("the command's peer did not host the broker once the work was done")
	}
}

// A detached broker handed a compact does it before it reports that it
// serves, and the peer that started it waits for that report only so
// long (20 s) before it kills it: a compact longer than that was killed
// half done, and the next broker's the same way, until the request ran
// out. The broker now says first that it works, and the peer then waits
// for it without that limit, or, once its caller has gone, leaves it to
// finish.
func TestDetachedBrokerSaysItWorksFirst(t *testing.T) {
	m := newMesh(t)
	cfg := m.config()
	cfg.Logger = slog.New(slog.DiscardHandler)
	inWork := make(chan struct{})
	release := make(chan struct{})
	cfg.beforeWork = func() {
		close(inWork)
		<-release
	}
	b, _ := json.Marshal(handoverRequest{ID: "long", Op: opCompact, Requested: time.Now().UTC()})
	if err := os.WriteFile(filepath.Join(cfg.DataDir, handoverRequestFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- hostDetached(ctx, cfg, ln, reporter{w: w}) }()
	defer func() {
		stop()
		if err := <-served; err != nil {
			t.Error(err)
		}
	}()

	const wait = 100 * time.Millisecond
	lines := make(chan spawnReport, 2)
	go readReports(r, lines)
	type result struct {
		working bool
		err     error
	}
	caller, leave := context.WithCancel(context.Background())
	defer leave()
	waited := make(chan result, 1)
	go func() {
		rep, working, err := awaitReport(caller, lines, wait, nil)
		if err == nil {
			err = fmt.Errorf("a report came: %+v", rep)
		}
		waited <- result{working, err}
	}()
	<-inWork
	// What is tested is the peer's wait passing while the broker works:
	// there is no event to wait for.
	time.Sleep(10 * wait)
	select {
	case res := <-waited:
		close(release)
		t.Fatalf("while the broker compacted, the peer that started it gave up: %v; want it to wait for the report", res.err)
	default:
	}
	// The caller's deadline passes (a hook's few seconds): the peer goes
	// on without the broker, saying it works, so that it is not killed.
	leave()
	if res := <-waited; !res.working || !errors.Is(res.err, context.Canceled) {
		t.Errorf("the peer whose caller went away while the broker worked: %+v; want it told that the broker works", res)
	}
	close(release)
	if rep := <-lines; rep.Error != "" || rep.PID != os.Getpid() {
		t.Fatalf("the report after the compact: %+v; want one that says the broker serves", rep)
	}
	if _, ok := readHandoverReport(cfg.DataDir, "long"); !ok {
		t.Error("the broker reported that it serves, but not what the compact did")
	}
}

// While a compact holds the folder's port, Working says so, for status to
// say at once; once it is done, nothing is under way.
func TestWorkingSaysWhatHoldsTheFolder(t *testing.T) {
	m := newMesh(t)
	cfg := m.config()
	if w, ok := Working(cfg); ok {
		t.Fatalf("Working = %+v in a folder nobody serves", w)
	}
	err := holdingPort(cfg, opCompact, func() error {
		w, ok := Working(cfg)
		if !ok || w.PID != os.Getpid() || w.Op != opCompact || !samePort(w.Addr, cfg.Addr) {
			return fmt.Errorf("Working = %+v, %v during a compact; want this process, compacting", w, ok)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if w, ok := Working(cfg); ok {
		t.Errorf("Working = %+v once the compact is done", w)
	}
}
