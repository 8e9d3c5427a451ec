package natsstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/natsmesh"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestWriteAppliedTooLateSaysTheClusterHasIt: the cluster acks a write of
// a broker whose view lags far behind the log (it was stopped while other
// hosts wrote, and reads their events back one by one), and the request's
// time, which a register has (ipc's decideCtx), is up before the view
// has applied it. The request fails with unavailable, saying that the
// cluster has it and that it takes effect: a CLI's send that registered
// its name on the spot failed with "the broker failed: put_session was
// stored in the cluster, but this broker's view could not read it back:
// read event 43045 of the log: context deadline exceeded", an internal
// failure in the words of the log's ops, with nothing to do about it.
func TestWriteAppliedTooLateSaysTheClusterHasIt(t *testing.T) {
	a := openHost(t, natsmesh.Prefix(t, &shared), nil)
	a.StopFollowing()
	var once sync.Once
	hold := a.HoldApplying()
	release := func() { once.Do(hold) }
	t.Cleanup(release)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- a.PutSession(ctx, store.Session{Name: "bob", ID: "s1", Expires: time.Now().Add(time.Hour), Secret: "5ec7e7a9"})
	}()
	<-ctx.Done()
	release()
	e := wantCode(t, <-done, ipcmesh.CodeUnavailable)
	t.Logf("the error: %s", e.Message)
	for _, want := range []string{"the session", "the NATS cluster stored it", "takes effect"} {
		if !strings.Contains(e.Message, want) {
			t.Errorf("the error does not say %q: %s", want, e.Message)
		}
	}
	if strings.Contains(e.Message, "put_session") {
		t.Errorf("the error names the log's op rather than what was written: %s", e.Message)
	}

	// It does take effect.
	if err := a.CatchUp(t.Context()); err != nil {
		t.Fatalf("CatchUp: %v", err)
	}
	if _, ok, err := a.Session("bob"); err != nil || !ok {
		t.Errorf("bob's session after the view caught up: %v, %v; want it there", ok, err)
	}
}
