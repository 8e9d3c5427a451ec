package gateway

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ipcmesh/ipcmesh/election"
)

// contentPage is what a page of a message's or a shared entry's content
// says of itself, from either answer.
type contentPage struct {
	content      string
	size         int
	offset, next int
	messageText  string // a message's own content; "" for a shared entry
}

// pageOfMessage reads a getMessage answer.
func pageOfMessage(t *testing.T, b []byte) contentPage {
	t.Helper()
	var a struct {
		Message struct {
			Content string
			Size    int
		}
		Content    string
		Offset     int
		NextOffset int `json:"next_offset"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
	return contentPage{content: a.Content, size: a.Message.Size, offset: a.Offset, next: a.NextOffset, messageText: a.Message.Content}
}

// pageOfShared reads a getShared answer.
func pageOfShared(t *testing.T, b []byte) contentPage {
	t.Helper()
	var a struct {
		Content    string
		Size       int
		Offset     int
		NextOffset int `json:"next_offset"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("decode %.200s: %v", b, err)
	}
	return contentPage{content: a.Content, size: a.Size, offset: a.Offset, next: a.NextOffset}
}

// readInPages reads path's content as a GPT would: from the start, then
// at each answer's next_offset until there is none. Every answer must be
// one a ChatGPT action takes, under 90,000 bytes of JSON, and start where
// the one before ended. It returns the content and the largest answer.
func readInPages(t *testing.T, f *face, key, path string, decode func(*testing.T, []byte) contentPage) (string, int) {
	t.Helper()
	var whole strings.Builder
	largest := 0
	for offset, pages := 0, 0; ; pages++ {
		if pages > 1000 {
			t.Fatalf("%s: %d pages read, %d bytes", path, pages, whole.Len())
		}
		u := path
		if offset > 0 {
			u += "?offset=" + strconv.Itoa(offset)
		}
		resp, b := f.do(req{method: "GET", path: u, key: key})
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %.300s", u, resp.StatusCode, b)
		}
		if len(b) > checkBudget {
			t.Fatalf("GET %s answered %d bytes (JSON and a newline), over the %d a ChatGPT action is given", u, len(b), checkBudget)
		}
		largest = max(largest, len(b))
		p := decode(t, b)
		if p.offset != offset || p.content == "" && offset < p.size || !utf8.ValidString(p.content) {
			t.Fatalf("GET %s: a page at offset %d of %d bytes, starting %q", u, p.offset, len(p.content), truncate(p.content, 20))
		}
		whole.WriteString(p.content)
		if p.next == 0 {
			if whole.Len() != p.size {
				t.Fatalf("%s: the last page ends at byte %d of %d", path, whole.Len(), p.size)
			}
			return whole.String(), largest
		}
		if p.next != offset+len(p.content) {
			t.Fatalf("GET %s: next_offset %d, but the page ends at %d", u, p.next, offset+len(p.content))
		}
		offset = p.next
	}
}

// manyRequests lets a key read a long content page after page, as fast
// as the test asks, above the face's rate limit.
func manyRequests(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 }

// contents are the texts the page tests read: the characters JSON writes
// longest (< as \u003c, six bytes for one), and characters of two, three
// and four bytes, U+2028 among them (three bytes, written in six), so that
// a page cut by bytes would end inside one.
func contents() map[string]string {
	const size = 2 << 20
	mixed := "é€😀\u2028x"
	return map[string]string{
		"less-than":   strings.Repeat("<", size),
		"multi-byte":  strings.Repeat(mixed, size/len(mixed)),
		"plain ascii": strings.Repeat("abcdefghij\n", size/11),
	}
}

// A ChatGPT action refuses an answer over 100,000 characters, and a
// message of 2 MB was answered whole (12.6 MB of JSON for one of <): no
// GPT could read it. It is read a page at a time, each answer under
// 90,000 bytes, and the pages make the message exactly.
func TestRESTLargeMessageReadInPages(t *testing.T) {
	f := newFace(t, manyRequests)
	key := f.key("gpt")
	bob := f.peer("bob")
	for _, name := range slices.Sorted(maps.Keys(contents())) {
		text := contents()[name]
		t.Run(name, func(t *testing.T) {
			r, err := bob.Send(ctxT(t), "gpt", text)
			if err != nil {
				t.Fatal(err)
			}
			got, largest := readInPages(t, f, key, "/api/v1/messages/"+r.Message.ID, pageOfMessage)
			if got != text {
				t.Fatalf("the pages make %d bytes, not the message's %d", len(got), len(text))
			}
			t.Logf("%d bytes read in pages, the largest answer %d bytes", len(text), largest)
		})
	}
}

// A shared value of 2 MB is read in pages as a message is.
func TestRESTLargeSharedValueReadInPages(t *testing.T) {
	f := newFace(t, manyRequests)
	key := f.key("gpt")
	for _, name := range slices.Sorted(maps.Keys(contents())) {
		text := contents()[name]
		t.Run(name, func(t *testing.T) {
			path := "/api/v1/shared/big-" + strings.ReplaceAll(name, " ", "-")
			f.ok(req{method: "PUT", path: path, key: key, body: shareBody{Content: text, Description: "a long one"}}, 200, nil)
			got, largest := readInPages(t, f, key, path, pageOfShared)
			if got != text {
				t.Fatalf("the pages make %d bytes, not the value's %d", len(got), len(text))
			}
			t.Logf("%d bytes read in pages, the largest answer %d bytes", len(text), largest)
		})
	}
}

// An offset inside a character reads from the start of that character,
// as the MCP tools do, and says so in offset; an offset at the end is an
// empty last page; one past it is refused with the size to keep within.
func TestRESTPageOffsets(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	text := contents()["multi-byte"]
	r, err := f.peer("bob").Send(ctxT(t), "gpt", text)
	if err != nil {
		t.Fatal(err)
	}
	f.ok(req{method: "PUT", path: "/api/v1/shared/big", key: key, body: shareBody{Content: text}}, 200, nil)
	for _, tc := range []struct {
		path   string
		decode func(*testing.T, []byte) contentPage
	}{
		{"/api/v1/messages/" + r.Message.ID, pageOfMessage},
		{"/api/v1/shared/big", pageOfShared},
	} {
		inside := 5000
		for utf8.RuneStart(text[inside]) {
			inside++
		}
		start := inside
		for !utf8.RuneStart(text[start]) {
			start--
		}
		_, b := f.do(req{method: "GET", path: tc.path + "?offset=" + strconv.Itoa(inside), key: key})
		p := tc.decode(t, b)
		if p.offset != start || !strings.HasPrefix(text[start:], p.content) || p.content == "" || p.next != start+len(p.content) {
			t.Errorf("%s at offset %d inside a character: page at %d of %d bytes, next %d; want it from %d", tc.path, inside, p.offset, len(p.content), p.next, start)
		}

		_, b = f.do(req{method: "GET", path: tc.path + "?offset=" + strconv.Itoa(len(text)), key: key})
		if p := tc.decode(t, b); p.offset != len(text) || p.content != "" || p.next != 0 {
			t.Errorf("%s at the end: page at %d of %d bytes, next %d; want an empty last page", tc.path, p.offset, len(p.content), p.next)
		}

		e := f.fails(req{method: "GET", path: tc.path + "?offset=" + strconv.Itoa(len(text)+1), key: key}, 400, "bad_request")
		for _, w := range []string{"offset " + strconv.Itoa(len(text)+1), "past the end", strconv.Itoa(len(text)) + " bytes", "next_offset"} {
			if !strings.Contains(e.Error.Message, w) {
				t.Errorf("%s past the end: %q does not say %q", tc.path, e.Error.Message, w)
			}
		}
		f.fails(req{method: "GET", path: tc.path + "?offset=-1", key: key}, 400, "bad_request")
	}
}

// A message or a value that fits is answered as it always was: whole,
// without offsets.
func TestRESTSmallContentAnsweredWhole(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	text := "a short message <b>with</b> & characters JSON escapes"
	r, err := f.peer("bob").Send(ctxT(t), "gpt", text)
	if err != nil {
		t.Fatal(err)
	}
	f.ok(req{method: "PUT", path: "/api/v1/shared/small", key: key, body: shareBody{Content: text}}, 200, nil)
	var msg map[string]json.RawMessage
	f.ok(req{method: "GET", path: "/api/v1/messages/" + r.Message.ID, key: key}, 200, &msg)
	if keys := slices.Sorted(maps.Keys(msg)); !slices.Equal(keys, []string{"content", "message"}) {
		t.Errorf("a small message's answer has %v, want content and message only", keys)
	}
	_, b := f.do(req{method: "GET", path: "/api/v1/messages/" + r.Message.ID, key: key})
	if p := pageOfMessage(t, b); p.content != text || p.messageText != text || p.size != len(text) {
		t.Errorf("a small message's answer: %+v", p)
	}
	var sh map[string]json.RawMessage
	f.ok(req{method: "GET", path: "/api/v1/shared/small", key: key}, 200, &sh)
	if sh["offset"] != nil || sh["next_offset"] != nil {
		t.Errorf("a small value's answer has offsets: %v", slices.Sorted(maps.Keys(sh)))
	}
	_, b = f.do(req{method: "GET", path: "/api/v1/shared/small", key: key})
	if p := pageOfShared(t, b); p.content != text || p.size != len(text) {
		t.Errorf("a small value's answer: %+v", p)
	}
}

// With the large-message threshold raised past a message, its body is
// not summarized, and the message's own content was the whole body too:
// twice megabytes. Paged, both hold the page.
func TestRESTMessageOverTheBudgetNotLarge(t *testing.T) {
	f := newFaceWith(t, func(c *election.Config) { c.Store.LargeMessageBytes = 4 << 20 }, manyRequests)
	key := f.key("gpt")
	text := strings.Repeat("<&>", 300_000)
	r, err := f.peer("bob").Send(ctxT(t), "gpt", text)
	if err != nil {
		t.Fatal(err)
	}
	if r.Message.Large {
		t.Fatal("the message is large: the threshold did not take")
	}
	var pages int
	got, _ := readInPages(t, f, key, "/api/v1/messages/"+r.Message.ID, func(t *testing.T, b []byte) contentPage {
		p := pageOfMessage(t, b)
		if p.messageText != p.content {
			t.Fatalf("page %d: the message's content is %d bytes, the page %d", pages, len(p.messageText), len(p.content))
		}
		pages++
		return p
	})
	if got != text {
		t.Fatalf("the pages make %d bytes, not the message's %d", len(got), len(text))
	}
}
