package tail

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestBufferKeepsWhatFits(t *testing.T) {
	b := &Buffer{Max: 64}
	fmt.Fprintln(b, "one")
	fmt.Fprintln(b, "two")
	if got, want := b.String(), "one\ntwo\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestBufferCutsAtALine(t *testing.T) {
	b := &Buffer{Max: 16}
	for i := range 10 {
		fmt.Fprintf(b, "line %d\n", i) // 7 bytes a line
	}
	// The last 16 bytes are "7\nline 8\nline 9\n": the partial line
	// goes, the two whole ones stay.
	if got, want := b.String(), "[... earlier output cut]\nline 8\nline 9\n"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestBufferWritesFromManyGoroutines(t *testing.T) {
	b := &Buffer{Max: 1 << 10}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				fmt.Fprintln(b, "0123456789")
			}
		})
	}
	wg.Wait()
	got := b.String()
	for _, l := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(got, "[... earlier output cut]\n"), "\n"), "\n") {
		if l != "0123456789" {
			t.Fatalf("a kept line is %q: writes were interleaved or cut mid-line", l)
		}
	}
}
