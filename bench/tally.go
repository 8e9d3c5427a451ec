package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// tally counts what a receiver was given, by message key and by id.
type tally struct {
	mu   sync.Mutex
	keys map[string]int
	ids  map[string]int
}

func newTally() *tally { return &tally{keys: map[string]int{}, ids: map[string]int{}} }

func (t *tally) add(id, key string) {
	t.mu.Lock()
	t.keys[key]++
	t.ids[id]++
	t.mu.Unlock()
}

// verify compares what was acked to the senders (expected keys) with what
// was received: lost are acked keys never received, dup the extra copies of
// keys received more than once.
func (t *tally) verify(expected []string) (lost, dup int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range expected {
		switch n := t.keys[k]; {
		case n == 0:
			lost++
		case n > 1:
			dup += n - 1
		}
	}
	return lost, dup
}

// extra counts the messages received under prefix that were not expected.
func (t *tally) extra(prefix string, expected []string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	want := make(map[string]bool, len(expected))
	for _, k := range expected {
		want[k] = true
	}
	n := 0
	for k := range t.keys {
		if strings.HasPrefix(k, prefix) && !want[k] {
			n++
		}
	}
	return n
}

// drain tells a recv agent to read what is left, waits until it has, and
// returns how many messages were pushed to it.
func drain(ctx context.Context, recv *agent) (pushed int, err error) {
	if err := recv.say("stop"); err != nil {
		return 0, fmt.Errorf("recv agent: %w", err)
	}
	rest, err := recv.expect(ctx, "done", roundTimeout)
	if err != nil {
		return 0, fmt.Errorf("recv agent: %w", err)
	}
	return strconv.Atoi(rest)
}
