package cli

import (
	"context"
	"testing"
)

// A Ctrl-C that comes while printed messages are being acked does not stop
// the ack: before, the next check showed them again, and a watch stopped
// so exited 1 ("context canceled").
func TestAckOfPrintedMessagesOutlivesAnInterrupt(t *testing.T) {
	m := newHookMesh(t)
	alice, bob := m.peer("alice"), m.peer("bob")
	m.send(alice, "bob", "shown, then Ctrl-C")
	r, err := bob.Check(hookCtx(t), 10, 0)
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("bob's check: %+v, %v; want the message", r.Messages, err)
	}
	interrupted, cancel := context.WithCancel(hookCtx(t))
	cancel()
	if err := ackAll(interrupted, bob, r.Messages); err != nil {
		t.Fatalf("the ack after an interrupt: %v", err)
	}
	if left := unreadContents(t, bob); len(left) != 0 {
		t.Errorf("unread after the ack: %q; want none", left)
	}
}
