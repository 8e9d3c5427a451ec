package store

import (
	"slices"
	"testing"
	"time"
)

// Sends a broker acked into the send journal before it was killed are
// part of the store a compact copies: they are stored first, and the
// journal, which names a commit of the file the copy replaces, is cleared.
func TestCompactOverAPendingJournal(t *testing.T) {
	c := journaledSends(t, 5)
	dir := c.folder(t, func(c crashCopy) []byte { return c.now }, c.journal)
	res, err := Compact(dir, CompactOptions{LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.Messages != 5 || res.Stats.Unread != 5 {
		t.Errorf("Compact counted %+v, want the 5 journaled sends, unread", res.Stats)
	}
	if journalPending(dir) {
		t.Fatal("the journal is still pending after the compact")
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := unreadIDs(t, s, "bob"); !slices.Equal(got, sent(5)) {
		t.Fatalf("bob's unread after the compact: %v, want the journaled sends %v", got, sent(5))
	}
}
