package gateway

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// GET /api/v1/messages takes from, and GET /api/v1/history since and until.
func TestSenderAndTimeFilters(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob, carol := f.peer("bob"), f.peer("carol")
	ctx := ctxT(t)
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	var sent []ipc.SendResult
	for i, content := range []string{"one", "two", "three"} {
		p := bob
		if i == 1 {
			p = carol
		}
		r, err := p.Send(ctx, "alice", content)
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, r)
	}

	var unread ipc.CheckResult
	f.ok(req{method: "GET", path: "/api/v1/messages?from=carol", key: key}, 200, &unread)
	if len(unread.Messages) != 1 || unread.Messages[0].Content != "two" || unread.Remaining != 2 {
		t.Errorf("messages from carol = %+v, want only \"two\" and 2 more unread", unread)
	}
	f.fails(req{method: "GET", path: "/api/v1/messages?from=no/name", key: key}, 400, "invalid_name")

	// A waiting check from carol is woken by bob's push too, and waits on.
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: map[string][]string{"ids": {unread.Messages[0].ID}}}, 200, nil)
	waited := make(chan ipc.CheckResult, 1)
	go func() {
		var r ipc.CheckResult
		f.ok(req{method: "GET", path: "/api/v1/messages?from=carol&wait=60s&limit=1", key: key}, 200, &r)
		waited <- r
	}()
	if _, err := bob.Send(ctx, "alice", "four"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Send(ctx, "alice", "five"); err != nil {
		t.Fatal(err)
	}
	if r := <-waited; len(r.Messages) != 1 || r.Messages[0].Content != "five" {
		t.Errorf("a waiting check from carol = %+v, want carol's \"five\"", r)
	}

	at := url.QueryEscape(sent[2].Message.Time.Format(time.RFC3339Nano))
	var hist historyResult
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob&since=" + at + "&until=" + at, key: key}, 200, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].Content != "three" {
		t.Errorf("history with bob at the time of \"three\" = %+v", hist)
	}
	f.fails(req{method: "GET", path: "/api/v1/history?with=bob&until=yesterday", key: key}, 400, "bad_request")
	// Year 1's first instant is a bound before every message, not the zero
	// time's "no bound".
	for _, early := range []string{"0001-01-01T00:00:00Z", "0001-01-01", "1900-01-01"} {
		var none historyResult
		f.ok(req{method: "GET", path: "/api/v1/history?with=bob&until=" + early, key: key}, 200, &none)
		if len(none.Messages) != 0 {
			t.Errorf("history with bob until %s = %d messages, want none", early, len(none.Messages))
		}
	}
	// Offsets Go reads but JSON cannot write, and a bound past year 9999
	// once in UTC, are bounds like any other, not a failed call.
	for _, late := range []string{"9999-12-31T23:59:59-23:59", "2999-01-01T00:00:00+24:00"} {
		var all historyResult
		f.ok(req{method: "GET", path: "/api/v1/history?with=bob&since=1970-01-01&until=" + url.QueryEscape(late), key: key}, 200, &all)
		if len(all.Messages) != 3 {
			t.Errorf("history with bob until %s = %d messages, want all 3", late, len(all.Messages))
		}
	}
}

// A from or with that no instance has finds nothing, as a quiet inbox
// does: the answer's note names the names likely meant. A search's note
// says how it took the words other search syntaxes take for operators.
func TestNotesOfAnswersThatFoundNothing(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	if _, err := bob.Send(ctxT(t), "alice", "the zebra report"); err != nil {
		t.Fatal(err)
	}
	want := "No instance is registered as bbo now: did you mean bob? (GET /api/v1/instances shows every name.)"

	var unread unreadResult
	f.ok(req{method: "GET", path: "/api/v1/messages?from=bbo", key: key}, 200, &unread)
	if len(unread.Messages) != 0 || unread.Note != want {
		t.Errorf("check from bbo = %+v, want no message and the note %q", unread, want)
	}
	var hist historyResult
	f.ok(req{method: "GET", path: "/api/v1/history?with=bbo", key: key}, 200, &hist)
	if len(hist.Messages) != 0 || hist.Note != want {
		t.Errorf("history with bbo = %+v, want no message and the note %q", hist, want)
	}
	var found searchResult
	f.ok(req{method: "GET", path: "/api/v1/search?q=zebra&from=bbo", key: key}, 200, &found)
	if len(found.Messages) != 0 || found.Note != want {
		t.Errorf("search from bbo = %+v, want no message and the note %q", found, want)
	}
	f.ok(req{method: "GET", path: "/api/v1/search?q=" + url.QueryEscape("zebra from:bob"), key: key}, 200, &found)
	if want := `Search takes no operators: a message matches when it holds every word; for from:bob give from=bob.`; found.Note != want {
		t.Errorf("search for \"zebra from:bob\" noted %q, want %q", found.Note, want)
	}

	// Answers that found what was asked for have no note.
	found, hist, unread = searchResult{}, historyResult{}, unreadResult{}
	f.ok(req{method: "GET", path: "/api/v1/search?q=zebra&from=bob", key: key}, 200, &found)
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob", key: key}, 200, &hist)
	f.ok(req{method: "GET", path: "/api/v1/messages?from=bob", key: key}, 200, &unread)
	if found.Note != "" || hist.Note != "" || unread.Note != "" || len(unread.Messages) != 1 {
		t.Errorf("answers about bob noted %q, %q and %q (check: %d messages), want no notes", found.Note, hist.Note, unread.Note, len(unread.Messages))
	}
}

// An ack whose ids mark nothing, mistyped or read already, says so in its
// note: "acked": 0 alone reads as a quiet success.
func TestAckNotesIDsThatMarkedNothing(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	r, err := f.peer("bob").Send(ctxT(t), "alice", "hello")
	if err != nil {
		t.Fatal(err)
	}
	id := r.Message.ID
	var acked ackResult
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: []string{id, id, "nosuch"}}}, 200, &acked)
	if want := "no message was marked read for 1 of the 2 ids given: read already, or not the id of an unread message of alice (GET /api/v1/messages gives them)"; acked.Acked != 1 || acked.Note != want {
		t.Errorf("an ack of the id twice and one not there = %+v, want 1 acked and the note %q", acked, want)
	}
	acked = ackResult{}
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: []string{id}}}, 200, &acked)
	if acked.Acked != 0 || !strings.HasPrefix(acked.Note, "no message was marked read for the id given: read already") {
		t.Errorf("an ack of an id read already = %+v, want 0 acked and a note saying so", acked)
	}
	acked = ackResult{}
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: []string{}}}, 200, &acked)
	if acked != (ackResult{}) {
		t.Errorf("an ack of no ids = %+v, want 0 acked and no note", acked)
	}
}
