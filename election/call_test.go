package election

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestDueIn: a call is due when the broker must have answered it: the
// wait it asks for, as the broker caps it, or the time a large body takes
// to a cluster, back to be checked, and into the broker's view, and the
// grace. A wait in
// milliseconds past time.Duration's range once wrapped around to none, so
// a check asked to wait for ever gave up after the grace alone.
func TestDueIn(t *testing.T) {
	const grace = 10 * time.Second
	for _, c := range []struct {
		op   string
		in   any
		want time.Duration
	}{
		{ipc.OpSend, ipc.SendRequest{}, grace},
		{ipc.OpCheck, ipc.CheckRequest{}, grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: 30_000}, 30*time.Second + grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: -5}, grace},
		{ipc.OpCheck, ipc.CheckRequest{WaitMS: 1 << 62}, ipc.MaxWait + grace},
		{ipc.OpWaitReply, ipc.WaitReplyRequest{WaitMS: 1<<63 - 1}, ipc.MaxWait + grace},
		{ipc.OpBackup, nil, backupTimeout + grace},
		// 8 MiB: 32 s to a cluster, 32 s back to check it, and 32 s
		// into the broker's view.
		{ipc.OpSend, ipc.SendRequest{Outgoing: ipc.Outgoing{Content: strings.Repeat("x", 8<<20)}}, 96*time.Second + grace},
		{ipc.OpBroadcast, ipc.BroadcastRequest{Content: strings.Repeat("x", 1<<20)}, 12*time.Second + grace},
		{ipc.OpShare, ipc.ShareRequest{Content: strings.Repeat("x", 100<<10)}, grace},
	} {
		if got := dueIn(c.op, c.in, grace); got != c.want {
			t.Errorf("dueIn(%s, %+v) = %v, want %v", c.op, c.in, got, c.want)
		}
	}
	if got := dueIn(ipc.OpSend, nil, 0); got != DefaultAnswerTimeout {
		t.Errorf("dueIn with no grace = %v, want DefaultAnswerTimeout %v", got, DefaultAnswerTimeout)
	}
}

// TestInterruptedCallSaysWhetherItsRequestWasSent: a call whose context
// ends before its request is written, as while its peer waits for a
// broker, matches ErrNotSent: its caller may say that nothing was sent.
// One whose request was written may have been carried out (here it was:
// the broker holds the answer, not the message) and does not match it.
// Both match the context's error.
func TestInterruptedCallSaysWhetherItsRequestWasSent(t *testing.T) {
	m := newMesh(t)
	carol := m.join("carol") // hosts the broker
	var late answerGate
	alice := m.joinCuttable("alice", late.wrap, nil)

	t.Run("written", func(t *testing.T) {
		late.hold()
		defer late.release()
		ctx, cancel := context.WithCancel(ctxT(t))
		defer cancel()
		sent := make(chan error, 1)
		go func() {
			_, err := alice.Send(ctx, "carol", "on its way")
			sent <- err
		}()
		r, err := carol.Check(ctxT(t), 10, 10*time.Second)
		if err != nil || len(r.Messages) != 1 {
			t.Fatalf("carol's check while alice's send waits for its answer: %+v, %v; want the message", r.Messages, err)
		}
		cancel()
		err = <-sent
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotSent) {
			t.Errorf("a send interrupted once the broker had stored it: %v; want context.Canceled, not ErrNotSent", err)
		}
	})

	t.Run("waiting for a broker", func(t *testing.T) {
		alice.cut() // and it dials again only once reconnect lets it
		defer alice.reconnect()
		ctx, cancel := context.WithCancel(ctxT(t))
		sent := make(chan error, 1)
		go func() {
			_, err := alice.Send(ctx, "carol", "never sent")
			sent <- err
		}()
		cancel()
		err := <-sent
		if !errors.Is(err, ErrNotSent) || !errors.Is(err, context.Canceled) || err.Error() != context.Canceled.Error() {
			t.Errorf("a send interrupted while its peer had no broker: %v; want ErrNotSent and context.Canceled, saying %q", err, context.Canceled)
		}
	})
}
