package ipc_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A call given up by its caller leaves the connection usable, and its late
// answer does not reach the next call.
func TestCallContextCancel(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "patient")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Call(ctx, ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v, want context.Canceled", err)
	}
	var st ipc.StatusResult
	p.must(t, ipc.OpStatus, nil, &st)
	if st.Version != ipc.Version {
		t.Fatalf("status after a cancelled call = %+v", st)
	}
	res := m.join(t, "other").send(t, "patient", "hello")
	if msgs := p.check(t); len(msgs) != 1 || msgs[0].ID != res.Message.ID {
		t.Fatalf("check after a cancelled check = %+v", msgs)
	}
}

func TestCallAfterClose(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "leaver")
	inflight := make(chan error, 1)
	go func() { inflight <- p.call(ipc.OpCheck, ipc.CheckRequest{WaitMS: 600_000}, nil) }()
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-inflight; !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("call in flight at Close: %v, want ErrConnLost", err)
	}
	<-p.Done()
	if p.Err() == nil {
		t.Error("Err() is nil after the connection ended")
	}
	if err := p.call(ipc.OpStatus, nil, nil); !errors.Is(err, ipc.ErrConnLost) {
		t.Fatalf("call after Close: %v, want ErrConnLost", err)
	}
	// The broker lets go of the name once it notices; another connection
	// with the token takes it over at once in any case.
	var s ipc.Session
	m.dial(t).must(t, ipc.OpResume, ipc.ResumeRequest{Token: p.Session.Token}, &s)
	if s.Name != "leaver" {
		t.Fatalf("resume = %+v", s)
	}
}
