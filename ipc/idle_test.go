package ipc_test

import (
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// wantOpen fails the test if idle closes within d.
func wantOpen(tb testing.TB, idle <-chan struct{}, d time.Duration, why string) {
	tb.Helper()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-idle:
		tb.Fatalf("Idle closed %s", why)
	case <-t.C:
	}
}

// wantIdle fails the test unless idle closes within callTimeout.
func wantIdle(tb testing.TB, idle <-chan struct{}, why string) {
	tb.Helper()
	select {
	case <-idle:
	case <-time.After(callTimeout):
		tb.Fatalf("Idle still open %v after %s", callTimeout, why)
	}
}

// Idle is closed once the broker has been without an authenticated
// connection for IdleTimeout, and not while one is connected, however
// long; a connection that arrives in time starts the count afresh, and
// connections in the handshake do not count.
func TestIdleAfterLastClientLeaves(t *testing.T) {
	// The next client below must finish its handshake within the
	// timeout, which on a busy machine under the race detector can take
	// a good part of a second.
	const timeout = time.Second
	m := startMesh(t, func(o *meshOptions) {
		o.Config.IdleTimeout = timeout
		// Connections in the handshake outlast the test.
		o.Config.Limits.HandshakeTimeout = time.Hour
	})
	idle := m.Broker.Idle()
	first := m.dial(t)
	first.must(t, ipc.OpStatus, nil, nil)
	wantOpen(t, idle, 2*timeout, "while a client was connected")

	// The next client comes before the timeout has passed.
	first.Close()
	second := m.dial(t)
	wantOpen(t, idle, 2*timeout, "while the next client was connected")

	m.idleDial(t, 3)
	second.Close()
	wantIdle(t, idle, "the last client left, with only connections in the handshake open")
}

// Without an IdleTimeout, Idle stays open.
func TestIdleNeverWithoutTimeout(t *testing.T) {
	m := startMesh(t, nil)
	m.dial(t).Close()
	wantOpen(t, m.Broker.Idle(), 500*time.Millisecond, "with no IdleTimeout")
}

// With nobody connecting at all, the count starts at Serve.
func TestIdleFromServe(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) {
		o.Config.IdleTimeout = 200 * time.Millisecond
		o.Config.Limits.HandshakeTimeout = time.Hour
	})
	m.idleDial(t, 1)
	wantIdle(t, m.Broker.Idle(), "Serve, with nobody connected")
}
