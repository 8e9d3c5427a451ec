package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// FuzzLastEventID reconnects to an event stream with an arbitrary
// Last-Event-ID, as a client that lost its stream does, and reads what
// the face answers. The header is the one input of the stream that a
// client sends back to the face after the face sent it: an EventSource
// repeats the id of the last event it got, and a script may send
// anything. Whatever it holds, the stream starts (200 and ready), and
// ready's replay says what came of it:
//
//   - an id the mesh hands out (a client's id of 8 to 64 letters, digits,
//     '_' and '-', or a broadcast copy's, that id, '.' and a name) is taken
//     back: one of the reader's messages replays what came after it, and
//     each replayed event's id is one more that is taken back; any other
//     such id is not_found, never bad_request;
//   - a header that is not a message id is bad_request, and after holds
//     at most its first 70 bytes, so that a long header is not sent back
//     whole.
//
// Every error says what the header was and where to read the unread mail
// instead, with no control character in it. The face and its mesh are
// made once per fuzzing process, with messages in place before the first
// input: nothing acks them, so every input meets the same mail.
//
//	go test -run '^$' -fuzz '^FuzzLastEventID$' -fuzztime 60s ./gateway/
func FuzzLastEventID(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzLastEventID.
	fc := newFaceLimited(f, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	key := fc.key("reader")
	writer := fc.peer("writer")
	fc.peer("other")
	ctx := ctxT(f)
	// The reader's name is known to the mesh once its key was used.
	if ready, _ := openStream(f, ctx, fc.url, key, ""); ready.Name != "reader" {
		f.Fatalf("first stream: ready = %s", jsonOf(ready))
	}
	for _, m := range []ipc.SendRequest{
		{ID: "direct-message-0001", Outgoing: ipc.Outgoing{To: "reader", Content: "one"}},
		{ID: "for-other-0001", Outgoing: ipc.Outgoing{To: "other", Content: "not the reader's"}},
	} {
		if _, err := writer.SendMessage(ctx, m); err != nil {
			f.Fatal(err)
		}
	}
	if _, err := writer.BroadcastMessage(ctx, ipc.BroadcastRequest{ID: "broadcast-0001", Content: "to all"}); err != nil {
		f.Fatal(err)
	}
	if _, err := writer.SendMessage(ctx, ipc.SendRequest{ID: "direct-message-0002", Outgoing: ipc.Outgoing{To: "reader", Content: "two"}}); err != nil {
		f.Fatal(err)
	}
	// The reader's mail in order, as a replay after its first message
	// reads it: the ids its message events carry.
	ready, replayed := openStream(f, ctx, fc.url, key, "direct-message-0001")
	mail := append([]string{"direct-message-0001"}, replayed...)
	if want := []string{"direct-message-0001", "broadcast-0001.reader", "direct-message-0002"}; !slices.Equal(mail, want) || ready.Replay == nil || ready.Replay.Error != nil {
		f.Fatalf("the reader's mail is %v (ready %s), want %v", mail, jsonOf(ready), want)
	}

	f.Fuzz(func(t *testing.T, last string) {
		if strings.ContainsFunc(last, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return // no client sends it: net/http refuses to
		}
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		ready, replayed := openStream(t, ctx, fc.url, key, last)
		// A header's value is read without the spaces around it.
		got := strings.Trim(last, " \t")
		if ready.Name != "reader" {
			t.Fatalf("Last-Event-ID %q: ready = %s", last, jsonOf(ready))
		}
		r := ready.Replay
		if got == "" {
			if r != nil {
				t.Fatalf("no Last-Event-ID, and ready has a replay: %s", jsonOf(ready))
			}
			return
		}
		if r == nil {
			t.Fatalf("Last-Event-ID %q: ready has no replay: %s", got, jsonOf(ready))
		}
		if r.More {
			t.Fatalf("Last-Event-ID %q: ready says more than a replay's worth of mail is unread, of %d messages: %s", got, len(mail), jsonOf(ready))
		}
		if i := slices.Index(mail, got); i >= 0 {
			if r.Error != nil || r.After != got || !slices.Equal(replayed, mail[i+1:]) {
				t.Fatalf("Last-Event-ID %q, the id of the reader's message event: ready %s and events %v, want events %v", got, jsonOf(ready), replayed, mail[i+1:])
			}
			return
		}
		if r.Error == nil || r.Replayed != 0 {
			t.Fatalf("Last-Event-ID %q names none of the reader's messages, and ready says %s", got, jsonOf(ready))
		}
		e := r.Error
		if !strings.Contains(e.Message, "Last-Event-ID") || !strings.Contains(e.Message, "GET /api/v1/messages") ||
			len(e.Message) > 500 || strings.ContainsFunc(e.Message, untrusted.Control) {
			t.Fatalf("Last-Event-ID %q: the error %q does not say, in one line of under 500 bytes, what the header was and where to read the mail", got, e.Message)
		}
		switch {
		case issuedID(got):
			if e.Code != ipcmesh.CodeNotFound || r.After != got {
				t.Fatalf("Last-Event-ID %q, an id the mesh could have given a message event: ready says %s, want not_found", got, jsonOf(ready))
			}
		case len(got) > 200 || strings.ContainsFunc(got, func(r rune) bool { return !idChar(r) }):
			if e.Code != ipcmesh.CodeBadRequest {
				t.Fatalf("Last-Event-ID %q is no message id, and ready says %s, want bad_request", got, jsonOf(ready))
			}
			if !utf8.ValidString(r.After) || utf8.RuneCountInString(r.After) > 73 {
				t.Fatalf("Last-Event-ID %q: ready sends back %q, more than its first 70 bytes", got, r.After)
			}
		default:
			// Of a message id's characters, but of no shape the mesh
			// gives: the broker may be asked, and finds none.
			if e.Code != ipcmesh.CodeNotFound && e.Code != ipcmesh.CodeBadRequest || r.After != got {
				t.Fatalf("Last-Event-ID %q: ready says %s, want not_found or bad_request", got, jsonOf(ready))
			}
		}
	})
}

// issuedID reports whether id has the shape of an id the mesh gives a
// message: a client's (ipc.ValidateID), or a broadcast copy's, that id,
// '.' and the recipient's name.
func issuedID(id string) bool {
	base, name, copied := strings.Cut(id, ".")
	if ipc.ValidateID("id", base) != nil {
		return false
	}
	return !copied || ipcmesh.ValidateName(name) == nil
}

// idChar reports whether r may be in a message id.
func idChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.'
}

// openStream opens the event stream of key with the Last-Event-ID last
// (none if ""), reads its ready event and the message events ready says
// were replayed, and hangs up. It returns ready and the replayed events'
// ids, each checked to be its message's id.
func openStream(t testing.TB, ctx context.Context, base, key, last string) (readyEvent, []string) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+key)
	if last != "" {
		hr.Header.Set("Last-Event-ID", last)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		t.Fatalf("GET /api/v1/events with Last-Event-ID %q: %v", last, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/v1/events with Last-Event-ID %q: %s %s, want the stream", last, resp.Status, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func() (name, id, data string) {
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "" && name != "":
				return name, id, data
			case strings.HasPrefix(line, "event: "):
				name = line[len("event: "):]
			case strings.HasPrefix(line, "id: "):
				id = line[len("id: "):]
			case strings.HasPrefix(line, "data: "):
				data = line[len("data: "):]
			}
		}
		t.Fatalf("Last-Event-ID %q: the stream ended before its events (%v)", last, sc.Err())
		return
	}
	var ready readyEvent
	if name, _, data := next(); name != "ready" || json.Unmarshal([]byte(data), &ready) != nil {
		t.Fatalf("Last-Event-ID %q: the first event is %s %q, want ready", last, name, data)
	}
	if ready.Replay == nil {
		return ready, nil
	}
	var ids []string
	for range ready.Replay.Replayed {
		name, id, data := next()
		var m ipcmesh.Message
		if name != "message" || json.Unmarshal([]byte(data), &m) != nil || m.ID != id {
			t.Fatalf("Last-Event-ID %q: a replayed event is %s id %q %q, want a message event with its id", last, name, id, data)
		}
		ids = append(ids, id)
	}
	return ready, ids
}
