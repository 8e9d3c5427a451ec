package gateway

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/textpage"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// longText is some 8 KB of one character, which JSON writes as itself,
// as two bytes or as six, by i.
func longText(i int) string {
	fills := []string{"x", "<", "\"", "é", "\u2028"}
	fill := fills[i%len(fills)]
	return strings.Repeat(fill, 8000/len(fill))
}

// send sends content from p to to, failing the test if it is refused.
func send(t *testing.T, p *election.Peer, to, content string) {
	t.Helper()
	if _, err := p.Send(ctxT(t), to, content); err != nil {
		t.Fatal(err)
	}
}

// A ChatGPT action refuses an answer over 100,000 characters. Unread mail
// of 30 messages of 8 KB each, some of whose characters JSON escapes
// into six, is answered a page at a time, each under that, the rest
// counted in remaining: read and acked page by page, every message comes
// once, in order.
func TestRESTCheckAnswerFitsAChatGPTAction(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	bob := f.peer("bob")
	const total = 30
	for i := range total {
		send(t, bob, "gpt", strconv.Itoa(i)+" "+longText(i))
	}
	next := 0
	for pages := 0; next < total; pages++ {
		if pages == total {
			t.Fatalf("%d pages read, %d of %d messages", pages, next, total)
		}
		resp, body := f.do(req{method: "GET", path: "/api/v1/messages", key: key})
		if resp.StatusCode != 200 {
			t.Fatalf("check: %d %s", resp.StatusCode, body)
		}
		if n := len([]rune(string(body))); n > 100_000 {
			t.Fatalf("a check answered %d characters, over what a ChatGPT action takes", n)
		}
		var page ipc.CheckResult
		f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &page)
		if len(page.Messages) == 0 || len(page.Messages)+page.Remaining != total-next {
			t.Fatalf("page %d: %d messages and %d remaining, want %d in all", pages, len(page.Messages), page.Remaining, total-next)
		}
		var ids []string
		for _, m := range page.Messages {
			if n, _, _ := strings.Cut(m.Content, " "); n != strconv.Itoa(next) {
				t.Fatalf("page %d holds message %s where %d was next", pages, n, next)
			}
			next++
			ids = append(ids, m.ID)
		}
		var acked ipc.AckResult
		f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ipc.AckRequest{IDs: ids}}, 200, &acked)
	}
}

// FuzzJSONLenBounds checks that the budget's estimate of a message is
// never below what encoding/json writes of it (the face's encoder), so
// that an answer within the budget is within it once written.
func FuzzJSONLenBounds(f *testing.F) {
	f.Add("id-1", "alice", "bob", "plain text", "", "", true, true, uint64(1), 10)
	f.Add("x", "a", "b", "<b>fish & chips</b> \"quoted\" \\ caf\u00e9 \u2028 \u2029 \x00\x1f", "#ops", "request", false, false, ^uint64(0), -1)
	f.Add("", "", "", "\xff\xfe invalid utf-8", "s", "t", true, false, uint64(0), 1<<62)
	f.Add("id\n", "a\tb", "b", "a log\nline 2\r\n\ttabbed \b\f \x01 \x7f", "", "", false, true, uint64(7), 99)
	f.Fuzz(func(t *testing.T, id, from, to, content, channel, typ string, broadcast, large bool, seq uint64, size int) {
		m := ipcmesh.Message{ID: id, Seq: seq, From: from, To: to, Content: content, Channel: channel, Type: typ,
			SentTo: from, ReplyTo: id, Thread: to, Shared: typ, Path: channel, Broadcast: broadcast, Large: large, Size: size,
			Time: time.Date(-1, 1, 1, 0, 0, 0, 999999999, time.FixedZone("", -(23*3600+59*60)))}
		if size%2 == 0 {
			m.Time = time.Now()
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Skip() // a time outside what JSON takes
		}
		if got := jsonLen(m); got < len(b) {
			t.Fatalf("jsonLen = %d, below the %d bytes encoding/json writes: %s", got, len(b), b)
		}
	})
}

// A page of history or of a thread stops before the budget too, and says
// more: paged with before or after, every message comes once, in order.
func TestRESTHistoryAndThreadPagesFitAChatGPTAction(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	bob := f.peer("bob")
	const total = 30
	first, err := bob.Send(ctxT(t), "gpt", "0 "+strings.Repeat("<", 8000))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < total; i++ {
		if _, err := bob.SendMessage(ctxT(t), ipc.SendRequest{Outgoing: ipc.Outgoing{To: "gpt", ReplyTo: first.Message.ID, Content: strconv.Itoa(i) + " " + strings.Repeat("<", 8000)}}); err != nil {
			t.Fatal(err)
		}
	}
	read := func(what, path string, next func(seq uint64) string, order func(i int) int) {
		t.Helper()
		seen := readPages(t, f, key, path, next, total)
		for i, n := range seen {
			if n != order(i) || len(seen) != total {
				t.Fatalf("%s read %v; want each of the %d messages once, in order", what, seen, total)
			}
		}
	}
	read("history", "/api/v1/history?with=bob&limit=100",
		func(seq uint64) string {
			return "/api/v1/history?with=bob&limit=100&before=" + strconv.FormatUint(seq, 10)
		},
		func(i int) int { return total - 1 - i })
	read("thread", "/api/v1/threads/"+first.Message.ID,
		func(seq uint64) string {
			return "/api/v1/threads/" + first.Message.ID + "?after=" + strconv.FormatUint(seq, 10)
		},
		func(i int) int { return i })
}

// A search of many long messages stops before the budget too, and says
// more: 40 matches of 8 KB each were answered at once, 326 KB of JSON
// with limit=40. Paged with before, by the budget (limit=100) or by the
// limit (the default 20, and 7, for short messages too), every match
// comes once, newest first.
func TestRESTSearchPagesFitAChatGPTAction(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	bob := f.peer("bob")
	const total = 40
	for i := range total {
		send(t, bob, "gpt", strconv.Itoa(i)+" zebra "+longText(i))
		send(t, bob, "gpt", strconv.Itoa(i)+" a short one")
	}
	for _, query := range []string{"q=zebra&limit=100", "q=zebra", "from=bob&q=zebra&limit=7", "q=short&limit=7"} {
		seen := readPages(t, f, key, "/api/v1/search?"+query, func(seq uint64) string {
			return "/api/v1/search?" + query + "&before=" + strconv.FormatUint(seq, 10)
		}, total)
		for i, n := range seen {
			if n != total-1-i || len(seen) != total {
				t.Fatalf("%s read %v; want each of the %d matches once, newest first", query, seen, total)
			}
		}
	}
}

// readPages reads pages of messages as a ChatGPT action would, from path
// on, the next at next(the last seq of the page before) while the page
// says more, each under what an action takes; and returns the numbers
// the messages' contents begin with, in the order read. More than most
// pages fail the test.
func readPages(t *testing.T, f *face, key, path string, next func(seq uint64) string, most int) []int {
	t.Helper()
	var seen []int
	for pages := 0; ; pages++ {
		if pages > most {
			t.Fatalf("%s: %d pages read, %v", path, pages, seen)
		}
		resp, body := f.do(req{method: "GET", path: path, key: key})
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
		}
		if len(body) > checkBudget {
			t.Fatalf("%s: an answer of %d bytes, over what a ChatGPT action takes", path, len(body))
		}
		var page struct {
			Messages []struct {
				Seq     uint64
				Content string
			}
			More bool
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) == 0 && page.More {
			t.Fatalf("%s: more, with no message to read on from", path)
		}
		for _, m := range page.Messages {
			n, _, _ := strings.Cut(m.Content, " ")
			i, _ := strconv.Atoi(n)
			seen = append(seen, i)
		}
		if !page.More {
			return seen
		}
		path = next(page.Messages[len(page.Messages)-1].Seq)
	}
}

// FuzzQuotedEnd checks the page a getMessage or getShared answer holds:
// its text takes no more room in JSON than it was given, as encoding/json
// writes it, yet as much as the room allows; it ends between two
// characters; and it holds a character at least, so that a reader who
// reads on comes to the end.
func FuzzQuotedEnd(f *testing.F) {
	f.Add(strings.Repeat("<", 100), 3, 20)
	f.Add("é€😀\u2028x<>&\"\\\n\x00", 1, 13)
	f.Add("\xff\xfe\xe2\x82 invalid utf-8 and a cut €", 4, 7)
	f.Add("plain", 0, 0)
	f.Add("", 0, 5)
	f.Fuzz(func(t *testing.T, s string, start, room int) {
		if start < 0 || start > len(s) {
			start = 0
		}
		start = textpage.Start(s, start)
		end := quotedEnd(s, start, room)
		switch {
		case end < start || end > len(s):
			t.Fatalf("quotedEnd(%q, %d, %d) = %d, out of the text", s, start, room, end)
		case end == start && start < len(s):
			t.Fatalf("quotedEnd(%q, %d, %d) = %d: an empty page before the end", s, start, room, end)
		case end < len(s) && utf8.ValidString(s) && !utf8.RuneStart(s[end]):
			t.Fatalf("quotedEnd(%q, %d, %d) = %d, inside a character", s, start, room, end)
		}
		page := s[start:end]
		b, err := json.Marshal(page)
		if err != nil {
			t.Fatal(err)
		}
		if quotedLen(page) < len(b) {
			t.Fatalf("quotedLen(%q) = %d, below the %d bytes encoding/json writes", page, quotedLen(page), len(b))
		}
		// Over the room only with the one character a page always holds
		// (each byte that is not UTF-8 counts as one).
		if taken := len(b) - len(`""`); taken > room && utf8.RuneCountInString(page) > 1 {
			t.Fatalf("quotedEnd(%q, %d, %d) = %d: the page takes %d bytes in JSON", s, start, room, end, taken)
		}
		if end < len(s) {
			_, size := utf8.DecodeRuneInString(s[end:])
			if quotedLen(s[start:end+size])-len(`""`) <= room {
				t.Fatalf("quotedEnd(%q, %d, %d) = %d: the next character fits too", s, start, room, end)
			}
		}
	})
}
