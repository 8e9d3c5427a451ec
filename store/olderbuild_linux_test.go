package store

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A broker killed with sends journaled, and then a build from before the
// journal run on the data folder, as one does going back without
// ipcmesh stop: that build opens the database as the kill left it, never
// reads the journal, and writes commits of its own, which may reuse the
// pages of the journal's checkpoint. Open must then keep that build's
// commits, not put back the checkpoint over them, and store the journal's
// sends again, each once: those the file holds already (their commit was
// done before the kill) and those it does not (acked while their commit
// was still open).
func TestDatabaseWrittenAfterTheJournalByAnOlderBuild(t *testing.T) {
	const n = 5
	c := journaledSends(t, n)
	for _, tc := range []struct {
		name string
		db   func(c crashCopy) []byte
	}{
		{"with the journal's commits", func(c crashCopy) []byte { return c.now }},
		{"with none of the journal's commits", func(c crashCopy) []byte { return c.checkpoint }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := c.folder(t, tc.db, c.journal)
			olderBuildWrites(t, dir)
			s := reopen(t, dir)
			if got, want := unreadIDs(t, s, "bob"), sent(n); !slices.Equal(got, want) {
				t.Fatalf("bob's inbox: %v, want the journal's sends %v, once each", got, want)
			}
			if got := unreadIDs(t, s, "carol"); !slices.Equal(got, []string{"older-1", "older-2"}) {
				t.Fatalf("carol's inbox: %v, want the two messages the older build stored", got)
			}
			if journalPending(dir) {
				t.Fatal("the journal is still pending once its sends are stored")
			}
			send(t, s, "after", "alice", "bob", "after the older build")
		})
	}
}

// olderBuildWrites opens the database in dir as a build without the journal
// does: the journal is set aside meanwhile, so this one's Open does not
// read it either. It registers carol and stores two messages for her,
// then closes the store and puts the journal back.
//
// Its commits must outnumber those the journal's records went into by
// two (writtenPast): the journal's sends went into one commit each or
// fewer, as the machine's pace batched them, so it registers as many
// names as there are records, each in a commit of its own, before carol.
func olderBuildWrites(t *testing.T, dir string) {
	t.Helper()
	journal := filepath.Join(dir, journalFile)
	aside := filepath.Join(t.TempDir(), journalFile)
	if err := os.Rename(journal, aside); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	j, err := os.ReadFile(aside)
	if err != nil {
		t.Fatal(err)
	}
	_, records, _ := parseJournal(j)
	for i := range records {
		register(t, s, fmt.Sprintf("older%d", i))
	}
	register(t, s, "carol")
	send(t, s, "older-1", "alice", "carol", "stored by the older build")
	send(t, s, "older-2", "alice", "carol", "stored by the older build too")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(aside, journal); err != nil {
		t.Fatal(err)
	}
}

// inAnotherBoot returns the journal with its records marked as written in
// another boot of the machine.
func inAnotherBoot(t *testing.T, journal []byte) []byte {
	t.Helper()
	ck, payloads, ok := parseJournal(journal)
	if !ok {
		t.Fatal("no journal to mark")
	}
	out := appendHeader(nil, ck)
	for _, p := range payloads {
		var entries []journalEntry
		if err := json.Unmarshal(p, &entries); err != nil {
			t.Fatal(err)
		}
		for i := range entries {
			entries[i].Boot = "another boot"
		}
		p, err := json.Marshal(entries)
		if err != nil {
			t.Fatal(err)
		}
		out = appendRecord(out, ck.txid, p)
	}
	return out
}
