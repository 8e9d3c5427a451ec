package gateway

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

// TestEventsComeInSeqOrder: the posts of one commit are pushed to the face
// in any order, and an event stream that sent them as they came sent 983
// before 982. A replay sends the unread messages after the Last-Event-ID's
// seq, so a client whose stream broke between the two never had 982, and
// one whose stream broke after 982 had 983 twice. The events come in the
// order of seq, and a reconnect after any of them replays exactly the
// rest.
func TestEventsComeInSeqOrder(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("reader")
	peers := f.posters(key, 8)
	st := f.events("/api/v1/events", key)
	st.ready()
	const rounds = 30
	for round := range rounds {
		postRound(t, peers, round)
	}
	got := make([]ipcmesh.Message, rounds*len(peers))
	for i := range got {
		got[i] = st.nextMessage()
		if i > 0 && got[i].Seq <= got[i-1].Seq {
			t.Fatalf("event %d is seq %d (%q), after seq %d (%q): a client whose stream broke between the two and that reconnected with Last-Event-ID %s never gets %q",
				i, got[i].Seq, got[i].Content, got[i-1].Seq, got[i-1].Content, got[i-1].ID, got[i].Content)
		}
	}
	st.drop()
	for _, at := range []int{len(got) - 90, len(got) - 31, len(got) - 2} {
		re := f.reconnect(key, got[at].ID)
		if r := re.ready(); r.Replay == nil || r.Replay.Replayed != len(got)-at-1 || r.Replay.More {
			t.Fatalf("reconnect after event %d: ready = %s, want %d replayed", at, jsonOf(r), len(got)-at-1)
		}
		var want []string
		for _, m := range got[at+1:] {
			want = append(want, m.ID)
		}
		re.wantMessages(want)
		re.drop()
	}
}

// TestEventsSkipMailSentAgain: a message sent again with its id after it
// was read is pushed again (TestWaitingCheckSkipsMailSentAgain); the event
// stream does not send it a second time.
func TestEventsSkipMailSentAgain(t *testing.T) {
	f := newFace(t, nil)
	alice, bob := f.key("alice"), f.key("bob")
	sendRead(f, alice, bob)
	st := f.events("/api/v1/events", bob)
	st.ready()
	sendWithID(f, alice, "first-message", "read once")
	sendWithID(f, alice, "second-message", "new")
	if m := st.nextMessage(); m.ID != "second-message" {
		t.Errorf("the event stream sent %s (%q), want only the new message: the first was read and acked", m.ID, m.Content)
	}
}

// TestEventsAfterABacklog: a stream that begins with more unread mail than
// a check's page does not know where the newest of it lies, and sends its
// first pushes as they come, sorted. A message of their commit pushed
// after them still comes, once, without an id line, so that the client's
// Last-Event-ID stays the newest it got; every other event has its id, in
// the order of seq.
func TestEventsAfterABacklog(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("reader")
	peers := f.posters(key, 8)
	for i := range replayLimit + 1 {
		sendAll(t, peers[0], "#room", fmt.Sprintf("backlog %d", i))
	}
	st := f.events("/api/v1/events", key)
	if r := st.ready(); r.Unread != replayLimit+1 {
		t.Fatalf("ready = %s, want %d unread", jsonOf(r), replayLimit+1)
	}
	const rounds = 30
	want := map[string]bool{}
	for round := range rounds {
		for _, text := range postRound(t, peers, round) {
			want[text] = true
		}
	}
	// A post that never comes would leave the read below waiting.
	timer := time.AfterFunc(20*time.Second, st.drop)
	defer timer.Stop()
	var last uint64
	for range rounds * len(peers) {
		ev := st.nextEvent()
		var m ipcmesh.Message
		if ev.name != "message" || json.Unmarshal([]byte(ev.data), &m) != nil {
			t.Fatalf("event = %+v, want a message event", ev)
		}
		if !want[m.Content] {
			t.Fatalf("event of %q: not a post of the rounds, or one that came twice", m.Content)
		}
		delete(want, m.Content)
		switch {
		case ev.id == "" && m.Seq > last:
			t.Errorf("event of %q, seq %d, has no id, though nothing newer came before it (newest %d)", m.Content, m.Seq, last)
		case ev.id != "" && (ev.id != m.ID || m.Seq <= last):
			t.Errorf("event of %q: id %q, seq %d after seq %d; want its own id, in the order of seq", m.Content, ev.id, m.Seq, last)
		}
		last = max(last, m.Seq)
	}
}
