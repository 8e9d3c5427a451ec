package main

import (
	"strings"
	"testing"
)

// TestSendWithIDRunAgainSendsOnce: a script that runs ipcmesh send again
// after a failure it cannot read (the command timed out or was killed
// across a failover, after the broker may have stored the message) gives
// the same --id, and the message is stored once; the second run says so.
func TestSendWithIDRunAgainSendsOnce(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	const id = "nightly-build-4711"
	first := m.mustRun("send", "--as", "alice", "--id", id, "bob", "build 4711 is green")
	if strings.Contains(first.stdout, "already sent") {
		t.Errorf("the first send with --id says it was sent before: %q", first.stdout)
	}
	again := m.mustRun("send", "--as", "alice", "--id", id, "bob", "build 4711 is green")
	if !strings.Contains(again.stdout, "already sent") || !strings.Contains(again.stdout, id) {
		t.Errorf("the send run again with the same --id printed %q; want it to say the message was already sent, under %s", again.stdout, id)
	}
	if got := m.check("--as", "bob"); len(got.Messages) != 1 || got.Messages[0].ID != id {
		t.Errorf("bob has %+v; want the one message, under id %s", got.Messages, id)
	}
	bad := m.run("send", "--as", "alice", "--id", "x y", "bob", "hi")
	if bad.code != 2 {
		t.Errorf("a bad --id exited %d, want 2 (a usage error)", bad.code)
	}
	for _, want := range []string{`--id "x y"`, "8 to 64", "letters, digits"} {
		if !strings.Contains(bad.stderr, want) {
			t.Errorf("a bad --id: %q does not say %q", bad.stderr, want)
		}
	}
}

// TestBroadcastWithIDRunAgainSendsOnce: a broadcast run again with its
// --id, as a script retries one whose answer it lost, stores no second
// copy for anyone and says so rather than "broadcast to" everyone again;
// a name registered in between gets its copy, once.
func TestBroadcastWithIDRunAgainSendsOnce(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("register", "carol")
	const id = "release-notes-42"
	broadcast := func() string {
		t.Helper()
		return m.mustRun("broadcast", "--as", "alice", "--id", id, "release 42 is out").stdout
	}
	if first := broadcast(); !strings.Contains(first, "broadcast to 2: bob, carol") || strings.Contains(first, "already") {
		t.Errorf("the first broadcast with --id printed %q; want it to reach bob and carol, and nothing about before", first)
	}
	if again := broadcast(); !strings.Contains(again, "already broadcast under this id before, to 2: bob, carol: nothing new was sent now") {
		t.Errorf("the broadcast run again with the same --id printed %q; want it to say bob and carol had it already and nothing new was sent", again)
	}
	m.mustRun("register", "dave")
	if later := broadcast(); !strings.Contains(later, "broadcast to 1 more: dave") || !strings.Contains(later, "already broadcast under this id before to 2: bob, carol, who got nothing new") {
		t.Errorf("the broadcast run again once dave registered printed %q; want dave reached and bob and carol named as having it already", later)
	}
	var r struct {
		Recipients []string `json:"recipients"`
		Duplicate  []string `json:"duplicate"`
	}
	m.mustJSON(&r, "broadcast", "--as", "alice", "--id", id, "--json", "release 42 is out")
	if strings.Join(r.Recipients, ",") != "bob,carol,dave" || strings.Join(r.Duplicate, ",") != "bob,carol,dave" {
		t.Errorf("--json of the broadcast run again: %+v; want every recipient listed in duplicate", r)
	}
	for _, name := range []string{"bob", "carol", "dave"} {
		if got := m.check("--as", name).Messages; len(got) != 1 || got[0].ID != id+"."+name {
			t.Errorf("%s's mail after the broadcast ran four times with one --id: %+v; want its copy once, under %s.%s", name, got, id, name)
		}
	}
	bad := m.run("broadcast", "--as", "alice", "--id", "x y", "hi")
	if bad.code != 2 {
		t.Errorf("a bad --id exited %d, want 2 (a usage error)", bad.code)
	}
	for _, want := range []string{`--id "x y"`, "8 to 64", "letters, digits"} {
		if !strings.Contains(bad.stderr, want) {
			t.Errorf("a bad --id of broadcast: %q does not say %q", bad.stderr, want)
		}
	}
}
