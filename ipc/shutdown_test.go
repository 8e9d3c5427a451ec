package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// shutdown runs a graceful shutdown and fails the test if it errs.
func (m *mesh) shutdown(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := m.Broker.Shutdown(ctx); err != nil {
		tb.Fatalf("Shutdown: %v", err)
	}
}

// reopen opens the broker's data folder again, which only works once the
// broker has let go of it.
func (m *mesh) reopen(tb testing.TB) *store.Store {
	tb.Helper()
	st, err := store.Open(store.Options{Dir: m.Dir, LockTimeout: 100 * time.Millisecond})
	if err != nil {
		tb.Fatalf("reopen the store after shutdown: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

func TestShutdownGoaway(t *testing.T) {
	m := startMesh(t, nil)
	waiter := m.join(t, "waiter")
	idle := m.join(t, "idle")
	m.join(t, "sender").send(t, "idle", "kept")

	checked := make(chan error, 1)
	go func() {
		checked <- waiter.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil)
	}()
	// Shut down only once the broker holds the check: a check still on its
	// way would prove nothing about one the broker was waiting on.
	awaitWaiting(t, idle, 1)
	m.shutdown(t)

	// The waiting check is not answered with an error: the client is to
	// send it again to the next broker.
	err := <-checked
	if !errors.Is(err, ipc.ErrConnLost) || ipcmesh.CodeOf(err) != "" {
		t.Fatalf("check in flight during shutdown: %v, want ErrConnLost and no error frame", err)
	}
	for _, p := range []*peer{waiter, idle} {
		ev := p.Events.await(t, ipc.EventGoaway, nil)
		var g ipc.GoawayEvent
		if err := json.Unmarshal(ev.Body, &g); err != nil || g.Reason == "" {
			t.Errorf("goaway body %s: want a reason", ev.Body)
		}
		<-p.Done()
	}
	if _, err := m.tryDial(m.Keys, ipc.DialOptions{}); err == nil {
		t.Error("Dial after shutdown succeeded")
	}

	// The store is closed: the next broker opens it at once.
	st := m.reopen(t)
	msgs, err := st.Unread("idle", 10)
	if err != nil || len(msgs) != 1 || msgs[0].Content != "kept" {
		t.Fatalf("idle's inbox after shutdown = %+v, %v", msgs, err)
	}
}

// Sends racing a shutdown either are acknowledged, and then on disk, or
// fail as a lost connection to be retried: never an error to show.
func TestShutdownDuringSends(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.OpsPerSecond = 1e6 })
	m.join(t, "sink")
	var (
		mu     sync.Mutex
		acked  []string
		wg     sync.WaitGroup
		begun  = make(chan struct{})
		signal sync.Once
	)
	for s := range 4 {
		p := m.join(t, fmt.Sprintf("src%d", s))
		wg.Go(func() {
			for {
				id := ipc.NewID()
				err := p.call(ipc.OpSend, ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "sink", Content: "racing " + id}}, nil)
				if err != nil {
					if !errors.Is(err, ipc.ErrConnLost) || ipcmesh.CodeOf(err) != "" {
						t.Errorf("send during shutdown: %v, want success or ErrConnLost", err)
					}
					return
				}
				mu.Lock()
				acked = append(acked, id)
				if len(acked) == 50 {
					signal.Do(func() { close(begun) })
				}
				mu.Unlock()
			}
		})
	}
	<-begun
	m.shutdown(t)
	wg.Wait()

	st := m.reopen(t)
	msgs, err := st.Unread("sink", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, msg := range msgs {
		stored[msg.ID] = true
	}
	for _, id := range acked {
		if !stored[id] {
			t.Errorf("acknowledged message %s is not on disk", id)
		}
	}
	t.Logf("%d sends acknowledged before the shutdown, %d stored", len(acked), len(msgs))
}

// Shutdown and Close may both run; the second does no harm.
func TestShutdownTwice(t *testing.T) {
	m := startMesh(t, nil)
	m.join(t, "someone")
	m.shutdown(t)
	m.shutdown(t)
	if err := m.Broker.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
}

func TestCloseCutsConnections(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "victim")
	checked := make(chan error, 1)
	go func() { checked <- p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil) }()
	if err := m.Broker.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-checked; !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("check in flight during Close: %v, want ErrConnLost", err)
	}
	<-p.Done()
	m.reopen(t)
}
