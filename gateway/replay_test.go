package gateway

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// sendAll sends each text from p to name, in turn, and returns the ids.
func sendAll(t testing.TB, p *election.Peer, to string, texts ...string) []string {
	t.Helper()
	var ids []string
	for _, text := range texts {
		r, err := p.Send(ctxT(t), to, text)
		if err != nil {
			t.Fatalf("send %q to %s: %v", text, to, err)
		}
		ids = append(ids, r.Message.ID)
	}
	return ids
}

// nextMessage reads the next message event and returns its message,
// checking that the event's id is the message's.
func (s *stream) nextMessage() ipcmesh.Message {
	s.t.Helper()
	ev := s.nextEvent()
	var m ipcmesh.Message
	if ev.name != "message" || json.Unmarshal([]byte(ev.data), &m) != nil || m.ID != ev.id {
		s.t.Fatalf("event = %+v, want a message event", ev)
	}
	return m
}

// wantMessages reads message events while they are the messages want
// names, in order, and fails at the first that is not: a stream that
// lacks one is not waited on for ever.
func (s *stream) wantMessages(want []string) {
	s.t.Helper()
	var got []string
	for len(got) < len(want) {
		got = append(got, s.nextMessage().ID)
		if !slices.Equal(got, want[:len(got)]) {
			s.t.Fatalf("message events = %v, want %v", got, want)
		}
	}
}

// ready reads the stream's first event, which must be ready, and
// returns its data.
func (s *stream) ready() readyEvent {
	s.t.Helper()
	ev := s.nextEvent()
	var r readyEvent
	if ev.name != "ready" || json.Unmarshal([]byte(ev.data), &r) != nil {
		s.t.Fatalf("first event = %+v, want ready", ev)
	}
	return r
}

// reconnect opens the stream of key as a client that got the message
// event with id last does on a reconnect.
func (f *face) reconnect(key, last string) *stream {
	f.t.Helper()
	return f.eventsWith("/api/v1/events", key, map[string]string{"Last-Event-ID": last})
}

// TestEventsReplayAfterReconnect is a client that lost its stream and
// reconnects as EventSource does, with Last-Event-ID: the messages
// committed while it was away, direct and in its channels, come as
// events, after ready and before the next new one.
func TestEventsReplayAfterReconnect(t *testing.T) { forEachLink(t, testEventsReplayAfterReconnect) }

func testEventsReplayAfterReconnect(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	key := f.key("alice")
	bob := f.peer("bob")
	if _, err := bob.CreateChannel(ctxT(t), ipc.ChannelCreateRequest{Name: "ops", Members: []string{"alice"}}); err != nil {
		t.Fatal(err)
	}

	st := f.events("/api/v1/events", key)
	st.ready()
	first := sendAll(t, bob, "alice", "one")
	st.wantMessages(first)
	st.drop()
	missed := sendAll(t, bob, "alice", "two")
	missed = append(missed, sendAll(t, bob, "#ops", "deployed")...)
	missed = append(missed, sendAll(t, bob, "alice", "three")...)

	st = f.reconnect(key, first[0])
	want := readyEvent{Name: "alice", Unread: 4, Replay: &replayResult{After: first[0], Replayed: 3}}
	if r := st.ready(); !reflect.DeepEqual(r, want) {
		t.Errorf("ready = %s, want %s", jsonOf(r), jsonOf(want))
	}
	// A message sent now comes after the missed ones: without a replay
	// it is the first message event.
	st.wantMessages(append(missed, sendAll(t, bob, "alice", "four")...))
}

// TestEventsReplayRefused is a Last-Event-ID that names no message the
// name may read: the stream starts all the same, ready says why nothing
// was replayed, and nothing is.
func TestEventsReplayRefused(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	f.peer("carol")
	carols := sendAll(t, bob, "carol", "for carol only")
	// A broadcast's copy is its id, '.' and the recipient's name.
	if _, err := bob.BroadcastMessage(ctxT(t), ipc.BroadcastRequest{ID: "broadcast-0001", Content: "to all"}); err != nil {
		t.Fatal(err)
	}
	sendAll(t, bob, "alice", "unread, after carol's")
	var notFound string // the words of the first not_found
	for _, tc := range []struct {
		what, id, code, after string
	}{
		{"unknown", "0123456789abcdef0123456789abcdef", "not_found", ""},
		{"another name's", carols[0], "not_found", ""},
		{"another name's broadcast copy", "broadcast-0001.carol", "not_found", ""},
		{"malformed", "not an id", "bad_request", ""},
		{"too long", strings.Repeat("x", 201), "bad_request", strings.Repeat("x", 70) + "..."},
	} {
		t.Run(tc.what, func(t *testing.T) {
			st := f.reconnect(key, tc.id)
			r := st.ready()
			after := tc.after
			if after == "" {
				after = tc.id
			}
			if r.Name != "alice" || r.Replay == nil || r.Replay.After != after || r.Replay.Replayed != 0 || r.Replay.More ||
				r.Replay.Error == nil || string(r.Replay.Error.Code) != tc.code || !strings.Contains(r.Replay.Error.Message, "GET /api/v1/messages") {
				t.Fatalf("ready = %s, want %s and nothing replayed, with advice", jsonOf(r), tc.code)
			}
			if tc.code == "not_found" {
				// Another name's message is told in the words of an unknown one.
				words := strings.ReplaceAll(r.Replay.Error.Message, tc.id, "ID")
				if notFound == "" {
					notFound = words
				}
				if words != notFound || strings.Contains(words, "carol") {
					t.Errorf("the error %q tells more than %q", r.Replay.Error.Message, notFound)
				}
			}
			st.wantMessages(sendAll(t, bob, "alice", "new after "+tc.what))
			st.drop()
		})
	}
}

// TestEventsReplaySkipsAcked replays only what is still unread: a message
// acked while the client was away is not sent again.
func TestEventsReplaySkipsAcked(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	st := f.events("/api/v1/events", key)
	st.ready()
	first := sendAll(t, bob, "alice", "one")
	st.wantMessages(first)
	st.drop()
	missed := sendAll(t, bob, "alice", "two", "three", "four")
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: missed[1:2]}}, 200, nil)

	st = f.reconnect(key, first[0])
	if r := st.ready(); r.Replay == nil || r.Replay.Replayed != 2 || r.Replay.Error != nil {
		t.Errorf("ready = %s, want 2 replayed", jsonOf(r))
	}
	st.wantMessages([]string{missed[0], missed[2], sendAll(t, bob, "alice", "five")[0]})

	// The named message acked too: it still marks where the client was.
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: first}}, 200, nil)
	st.drop()
	st = f.reconnect(key, first[0])
	if r := st.ready(); r.Replay == nil || r.Replay.Replayed != 3 || r.Replay.Error != nil {
		t.Errorf("ready = %s, want 3 replayed", jsonOf(r))
	}
}

// TestEventsReplayBounded replays at most replayLimit messages, and ready
// says that more are unread.
func TestEventsReplayBounded(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	first := sendAll(t, bob, "alice", "one")
	texts := make([]string, replayLimit+1)
	for i := range texts {
		texts[i] = fmt.Sprintf("missed %d", i)
	}
	missed := sendAll(t, bob, "alice", texts...)
	st := f.reconnect(key, first[0])
	want := readyEvent{Name: "alice", Unread: replayLimit + 2, Replay: &replayResult{After: first[0], Replayed: replayLimit, More: true}}
	if r := st.ready(); !reflect.DeepEqual(r, want) {
		t.Errorf("ready = %s, want %s", jsonOf(r), jsonOf(want))
	}
	// The one left out stays unread, and no event brings it: after the
	// replay comes the next new message.
	st.wantMessages(append(missed[:replayLimit], sendAll(t, bob, "alice", "new")...))
}

// TestEventsReplayRacesNewSends sends while a stream replays: every
// message comes once, in order. A message committed after the stream
// subscribed and before its replay was read is in both; one committed
// while the replay is sent is pushed only.
func TestEventsReplayRacesNewSends(t *testing.T) { forEachLink(t, testEventsReplayRacesNewSends) }

func testEventsReplayRacesNewSends(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	key := f.key("alice")
	bob := f.peer("bob")
	first := sendAll(t, bob, "alice", "one")
	missed := sendAll(t, bob, "alice", "two", "three")

	between := make(chan string, 1)
	f.srv.beforeReplay = func() {
		r, err := bob.Send(ctxT(t), "alice", "between")
		if err != nil {
			t.Errorf("send while the stream starts: %v", err)
			close(between)
			return
		}
		between <- r.Message.ID
	}
	st := f.reconnect(key, first[0])
	r := st.ready()
	// The hook ran before ready was sent, or not at all.
	var id string
	select {
	case got, ok := <-between:
		if !ok {
			t.FailNow()
		}
		id = got
	default:
		t.Fatal("the stream did not read a replay for its Last-Event-ID")
	}
	if r.Replay == nil || r.Replay.Replayed != 3 {
		t.Errorf("ready = %s, want 3 replayed", jsonOf(r))
	}
	st.wantMessages(missed[:1])
	during := sendAll(t, bob, "alice", "during")
	st.wantMessages(append(append(missed[1:], id), during...))
	st.wantMessages(sendAll(t, bob, "alice", "after"))
	st.drop()
	f.srv.beforeReplay = nil

	// Sends that go on while the client reconnects: the first 10 reach
	// the stream, the next 10 come while there is none, and the rest go
	// on while the client reconnects, its stream subscribes and reads
	// its replay.
	ids := make([]string, 60)
	for i := range ids {
		ids[i] = fmt.Sprintf("replay-race-%04d", i)
	}
	st = f.events("/api/v1/events", key)
	st.ready()
	dropped, away := make(chan struct{}), make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i, id := range ids {
			switch i {
			case 10:
				<-dropped
			case 20:
				close(away)
			}
			if _, err := bob.SendMessage(ctxT(t), ipc.SendRequest{ID: id, Outgoing: ipc.Outgoing{To: "alice", Content: id}}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	st.wantMessages(ids[:10])
	st.drop()
	close(dropped)
	<-away
	st = f.reconnect(key, ids[9])
	r = st.ready()
	if r.Replay == nil || r.Replay.Error != nil || r.Replay.More || r.Replay.Replayed < 10 {
		t.Fatalf("ready = %s, want at least the 10 sent while away replayed", jsonOf(r))
	}
	t.Logf("%d of the %d messages after the reconnect's were replayed", r.Replay.Replayed, len(ids)-10)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	// A message left out shows as the one after it in its place, the
	// last as this one.
	st.wantMessages(append(ids[10:], sendAll(t, bob, "alice", "last")...))
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
