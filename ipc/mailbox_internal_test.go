package ipc

import (
	"fmt"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// mailboxes counts the names the broker keeps a wake-up channel for.
func (ib *internalBroker) mailboxes() int {
	ib.presence.mu.Lock()
	defer ib.presence.mu.Unlock()
	return len(ib.presence.waiters)
}

// TestMailboxesReleased checks that a name's wake-up channel for mail
// lives only while a check takes it. A broker that runs for months meets
// thousands of names that check once and never come back (a script's
// throwaway name, an assistant's session); each kept one until its next
// message, which never came.
func TestMailboxesReleased(t *testing.T) {
	ib := startInternalBroker(t)
	const names = 20
	for i := range names {
		c := ib.dial(t)
		must(t, c, OpRegister, RegisterRequest{Name: fmt.Sprintf("once%d", i)}, nil)
		must(t, c, OpCheck, CheckRequest{}, nil)
		must(t, c, OpCheck, CheckRequest{WaitMS: 1}, nil) // waits, and its time is up
		c.Close()
	}
	if n := ib.mailboxes(); n != 0 {
		t.Fatalf("after %d names checked an empty inbox and left, the broker keeps %d mailboxes, want 0", names, n)
	}

	// A check woken by mail releases its mailbox with its answer.
	bob := ib.dial(t)
	must(t, bob, OpRegister, RegisterRequest{Name: "bob"}, nil)
	woken := make(chan error, 1)
	go func() {
		var res CheckResult
		err := call(t, bob, OpCheck, CheckRequest{WaitMS: time.Minute.Milliseconds()}, &res)
		if err == nil && len(res.Messages) != 1 {
			err = fmt.Errorf("got %d messages, want 1", len(res.Messages))
		}
		woken <- err
	}()
	testbin.Eventually(t, time.Minute, "bob's check waiting", func() bool { return ib.presence.waiting.Load() == 1 })
	alice := ib.dial(t)
	must(t, alice, OpRegister, RegisterRequest{Name: "alice"}, nil)
	must(t, alice, OpSend, SendRequest{ID: NewID(), Outgoing: Outgoing{To: "bob", Content: "hi"}}, nil)
	if err := <-woken; err != nil {
		t.Fatalf("bob's waiting check: %v", err)
	}
	if n := ib.mailboxes(); n != 0 {
		t.Fatalf("after a check woken by mail answered, the broker keeps %d mailboxes, want 0", n)
	}

	// A check whose client hangs up while it waits releases it too.
	carol := ib.dial(t)
	must(t, carol, OpRegister, RegisterRequest{Name: "carol"}, nil)
	go call(t, carol, OpCheck, CheckRequest{WaitMS: time.Minute.Milliseconds()}, nil)
	testbin.Eventually(t, time.Minute, "carol's check waiting", func() bool { return ib.presence.waiting.Load() == 1 })
	carol.Close()
	testbin.Eventually(t, time.Minute, "the mailbox of carol's abandoned check released", func() bool { return ib.mailboxes() == 0 })
}
