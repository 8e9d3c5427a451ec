package ipc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// A shutdown whose grace has run out closes the store under the requests
// still being handled. Each of them must fail as a lost connection, which
// the client retries on the next broker, never as a fault of the broker
// ("store is closed").
func TestShutdownClosesStoreUnderRequests(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		o.Config.Limits.OpsPerSecond = 1e6
		o.Config.Limits.OpsBurst = 1e6
	})
	m.join(t, "sink")
	large := strings.Repeat("x", 64<<10)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		done   int
		failed []error
		begun  = make(chan struct{})
		signal sync.Once
	)
	for s := range 4 {
		p := m.join(t, fmt.Sprintf("src%d", s))
		for g := range 8 {
			wg.Go(func() {
				for {
					var err error
					if g%2 == 0 {
						// A large body is written to its file before the
						// store is asked to commit it: a window in which
						// the store can close.
						id := ipc.NewID()
						err = p.call(ipc.OpSend, ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "sink", Content: id + large}}, nil)
					} else {
						// Reads meet the closed store as well as writes.
						err = p.call(ipc.OpCheck, ipc.CheckRequest{}, nil)
					}
					mu.Lock()
					if err != nil {
						failed = append(failed, err)
					} else if done++; done == 200 {
						signal.Do(func() { close(begun) })
					}
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	}
	<-begun
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all: the store closes under whatever runs
	m.Broker.Shutdown(ctx)
	wg.Wait()
	for _, err := range failed {
		if !errors.Is(err, ipc.ErrConnLost) || ipcmesh.CodeOf(err) != "" {
			t.Errorf("request during a shutdown: %v, want ErrConnLost and no error frame", err)
		}
	}
}

// A request that meets a closed store, as those still running when a
// shutdown's grace runs out do, ends its connection as a lost one, which
// the client retries on the next broker: the client never reads "store is
// closed". Reads and writes alike.
func TestRequestMeetingClosedStoreLosesConnection(t *testing.T) {
	m := startMesh(t, nil)
	writer := m.join(t, "writer")
	reader := m.join(t, "reader")
	if err := m.Store.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p  *peer
		op string
		in any
	}{
		{writer, ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reader", Content: "too late"}}},
		{reader, ipc.OpCheck, ipc.CheckRequest{}},
	} {
		err := c.p.call(c.op, c.in, nil)
		if !errors.Is(err, ipc.ErrConnLost) || ipcmesh.CodeOf(err) != "" {
			t.Errorf("%s on a closed store: %v, want ErrConnLost and no error frame", c.op, err)
			continue
		}
		select {
		case <-c.p.Done():
		case <-time.After(callTimeout):
			t.Errorf("the connection of the %s stayed open", c.op)
		}
	}
}
