package ipc_test

import (
	"testing"
	"time"
)

// TestIdleAfterLastPeerLeaves: a broker with an idle timeout closes Idle
// once its last authenticated client has gone for that long, and not while
// one is connected, nor for a connection that never proves the secret.
func TestIdleAfterLastPeerLeaves(t *testing.T) {
	const idle = 200 * time.Millisecond
	m := startMesh(t, func(o *meshOptions) { o.Config.IdleTimeout = idle })
	p := m.dial(t)
	m.rawDial(t) // a connection that never says hello keeps nothing alive

	// Connected for several timeouts: Idle stays open.
	select {
	case <-m.Broker.Idle():
		t.Fatalf("Idle closed while a client was connected")
	case <-time.After(4 * idle):
	}

	p.Close()
	select {
	case <-m.Broker.Idle():
	case <-time.After(callTimeout):
		t.Fatalf("Idle did not close within %v of the last client leaving", callTimeout)
	}
}

// TestNoIdleWithoutTimeout: with IdleTimeout 0 the broker never reports
// itself idle, however long nobody is connected.
func TestNoIdleWithoutTimeout(t *testing.T) {
	m := startMesh(t, nil)
	m.dial(t).Close()
	select {
	case <-m.Broker.Idle():
		t.Fatalf("Idle closed with no IdleTimeout set")
	case <-time.After(300 * time.Millisecond):
	}
}
