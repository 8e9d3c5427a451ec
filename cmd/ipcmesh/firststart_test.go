package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestSimultaneousFirstStart: ten sends start at once in a fresh data
// folder with no broker, so they race to create the secret, to host the
// broker and, in every other round, where all send as the same name, to
// register it. Every round, in a folder and on a port of its own, every
// send succeeds and its message is delivered exactly once.
func TestSimultaneousFirstStart(t *testing.T) {
	const rounds, senders = 6, 10
	for round := range rounds {
		t.Run(fmt.Sprint("round", round), func(t *testing.T) {
			m := newMesh(t)
			procs := make([]*proc, senders)
			for i := range procs {
				as := fmt.Sprint("sender", i)
				if round%2 == 1 {
					as = "alice"
				}
				procs[i] = m.start(nil, "send", "--as", as, "bob", fmt.Sprint("message ", i))
			}
			for i, p := range procs {
				if code := p.wait(runTimeout); code != 0 {
					t.Errorf("send %d of %d started at once: exit %d: %s", i, senders, code, strings.TrimSpace(p.stderr.String()))
				}
			}
			if t.Failed() {
				return
			}
			got := map[string]int{}
			for _, msg := range m.check("--as", "bob").Messages {
				got[msg.Content]++
			}
			for i := range senders {
				if n := got[fmt.Sprint("message ", i)]; n != 1 {
					t.Errorf("message %d was delivered %d times, want once", i, n)
				}
			}
			if len(got) != senders {
				t.Errorf("bob got %d distinct messages, want %d", len(got), senders)
			}
		})
	}
}
