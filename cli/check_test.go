package cli

import (
	"context"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// The broker holds one check for at most ipc.MaxWait; check --wait asks
// again, a piece at a time, until its own wait is up. These tests give
// the pieces a short cap instead of the broker's ten minutes.

// TestCheckWaitGoesOnAfterAnEmptyPiece sends the mail only once three
// pieces of the wait have come back empty: the check goes on and gets it.
func TestCheckWaitGoesOnAfterAnEmptyPiece(t *testing.T) {
	m := newHookMesh(t)
	alice := m.peer("alice")
	bob := m.peer("bob")
	const piece = 50 * time.Millisecond
	var asked []time.Duration
	r, err := waitInPieces(hookCtx(t), time.Minute, piece, func(ctx context.Context, wait time.Duration) (ipc.CheckResult, error) {
		asked = append(asked, wait)
		r, err := bob.CheckMail(ctx, ipc.CheckRequest{WaitMS: wait.Milliseconds()})
		if err == nil && len(r.Messages) == 0 && len(asked) == 3 {
			m.send(alice, "bob", "late news")
		}
		return r, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Messages) != 1 || r.Messages[0].Content != "late news" {
		t.Fatalf("check --wait 1m got %+v after %d pieces; want the message sent after the third", r.Messages, len(asked))
	}
	if len(asked) != 4 {
		t.Errorf("asked the broker %d times (%v); want 4: three empty pieces and the one that got the mail", len(asked), asked)
	}
	for _, w := range asked {
		if w > piece {
			t.Errorf("asked the broker to wait %v, over the cap of %v (%v)", w, piece, asked)
		}
	}
}

// TestCheckWaitLastsTheWholeWait: with no mail, the check answers "no new
// messages" only once the wait it was given is up, not when the first
// piece ends, and the last piece asks for what is left of the wait.
func TestCheckWaitLastsTheWholeWait(t *testing.T) {
	m := newHookMesh(t)
	bob := m.peer("bob")
	const piece, wait = 50 * time.Millisecond, 180 * time.Millisecond
	var asked []time.Duration
	start := time.Now()
	r, err := waitInPieces(hookCtx(t), wait, piece, func(ctx context.Context, wait time.Duration) (ipc.CheckResult, error) {
		asked = append(asked, wait)
		return bob.CheckMail(ctx, ipc.CheckRequest{WaitMS: wait.Milliseconds()})
	})
	took := time.Since(start)
	if err != nil || len(r.Messages) != 0 {
		t.Fatalf("check --wait %v: %+v, %v; want no messages", wait, r.Messages, err)
	}
	if took < wait-time.Millisecond {
		t.Errorf("check --wait %v answered after %v, asking %v; want it to wait the whole %v", wait, took, asked, wait)
	}
	for _, w := range asked {
		if w > piece {
			t.Errorf("asked the broker to wait %v, over the cap of %v (%v)", w, piece, asked)
		}
	}
	if last := asked[len(asked)-1]; len(asked) < 2 || last >= piece {
		t.Errorf("asked the broker %v; want pieces of %v and a last one for what was left", asked, piece)
	}
}
