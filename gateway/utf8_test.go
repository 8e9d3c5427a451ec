package gateway

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
)

// TestBodyNotUTF8 checks that a body in another encoding than UTF-8 is
// refused, naming the byte, where it used to be stored with U+FFFD in
// place of each such byte and answered 201; and that UTF-8 text of every
// width, U+FFFD itself included, comes through whole.
func TestBodyNotUTF8(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	for _, body := range []string{
		"{\"to\": \"bob\", \"content\": \"caf\xe9 au lait\"}", // Latin-1
		"{\"to\": \"bob\", \"content\": \"bad \xff byte\"}",
		"{\"to\": \"bob\", \"content\": \"cut \xf0\x9f\"}",
	} {
		e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: body}, 400, "bad_request")
		mcptest.Contains(t, "a body that is not UTF-8", e.Error.Message, "not UTF-8", "byte ", "send the body as UTF-8")
	}
	e := f.fails(req{method: "PUT", path: "/api/v1/shared/notes", key: key, body: "{\"content\": \"na\xefve\"}"}, 400, "bad_request")
	mcptest.Contains(t, "shared content that is not UTF-8", e.Error.Message, "byte 15 is 0xEF")
	if r, err := bob.Check(ctxT(t), 10, 0); err != nil || len(r.Messages) != 0 {
		t.Fatalf("bob's inbox after bodies that were not UTF-8: %+v, %v; want nothing", r.Messages, err)
	}

	// Sent in pieces of odd sizes, characters cut between reads.
	text := strings.Repeat("é🙂 \ufffd x ", 20000)
	chunked := struct{ io.Reader }{iotest.HalfReader(strings.NewReader(`{"to": "bob", "content": "` + text + `"}`))}
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: chunked}, 201, nil)
	r, err := bob.Check(ctxT(t), 10, 0)
	if err != nil || len(r.Messages) != 1 {
		t.Fatalf("bob's inbox: %+v, %v; want the message", r.Messages, err)
	}
	got, err := bob.Fetch(ctxT(t), r.Messages[0].ID)
	if err != nil || got.Content != text {
		t.Errorf("the content came through changed (%d bytes, want %d): %v", len(got.Content), len(text), err)
	}
}

// TestUTF8BodyPieces reads UTF-8 and other bytes through utf8Body a byte
// at a time, the worst cut there is.
func TestUTF8BodyPieces(t *testing.T) {
	for in, bad := range map[string]int64{
		"plain":              -1,
		"é🙂\ufffd€":          -1,
		"ab\xffcd":           2,
		"é\xe9(":             2,
		"ok\xf0\x9f\x99":     2, // cut at the end
		"\x80":               0,
		"\xed\xa0\x80 (sur)": 0, // a surrogate, which UTF-8 cannot hold
	} {
		for name, r := range map[string]io.Reader{"whole": strings.NewReader(in), "bytes": iotest.OneByteReader(strings.NewReader(in))} {
			_, err := io.ReadAll(&utf8Body{r: r})
			nu, _ := err.(*notUTF8)
			switch {
			case bad < 0 && err != nil:
				t.Errorf("%q (%s): %v", in, name, err)
			case bad >= 0 && (nu == nil || nu.offset != bad):
				t.Errorf("%q (%s): %v, want byte %d refused", in, name, err, bad)
			}
		}
	}
}

// TestCompressedBody checks that a compressed body is refused for its
// encoding, with 415 naming the header, where it was read as it is and
// refused as not UTF-8 (Latin-1, say), sending its sender after the
// wrong fault.
func TestCompressedBody(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, `{"to": "bob", "content": "zipped"}`)
	zw.Close()
	e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: gz.Bytes(), header: map[string]string{"Content-Encoding": "gzip"}}, 415, "bad_request")
	mcptest.Contains(t, "a gzip body", e.Error.Message, `Content-Encoding "gzip"`, "uncompressed")
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: `{"to": "bob", "content": "plain"}`, header: map[string]string{"Content-Encoding": "identity"}}, 201, nil)
}

// TestMCPBodyNotUTF8 checks that a tool call over /mcp or /sse whose body
// is not UTF-8 is refused as the REST endpoints refuse one, where the
// SDK read it with U+FFFD in place of each such byte, sent the message so
// changed and answered that it was stored.
func TestMCPBodyNotUTF8(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	call := "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"send\",\"arguments\":{\"to\":\"bob\",\"content\":\"caf\xe9\"}}}"
	for _, path := range []string{"/mcp", "/sse?sessionid=none"} {
		e := f.fails(req{method: "POST", path: path, key: key, body: call, header: map[string]string{
			"Accept": "application/json, text/event-stream"}}, 400, "bad_request")
		mcptest.Contains(t, "a tool call that is not UTF-8 to "+path, e.Error.Message, "not UTF-8", "0xE9", "send the body as UTF-8")
	}
	if r, err := bob.Check(ctxT(t), 10, 0); err != nil || len(r.Messages) != 0 {
		t.Fatalf("bob's inbox after a tool call that was not UTF-8: %+v, %v; want nothing", r.Messages, err)
	}
}

// TestBodyWithBOM checks that a body starting with a byte order mark, as
// Windows tools write JSON files, is read as the JSON after it, where it
// was refused as holding an invalid character 'ï'; and that the mark
// anywhere else is content like any other character.
func TestBodyWithBOM(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: "\uFEFF{\"to\": \"bob\", \"content\": \"\uFEFFkept\"}"}, 201, nil)
	// Cut into single bytes, the mark split between reads.
	f.ok(req{method: "PUT", path: "/api/v1/shared/notes", key: key,
		body: struct{ io.Reader }{iotest.OneByteReader(strings.NewReader("\uFEFF{\"content\": \"one\"}"))}}, 200, nil)
	r, err := bob.Check(ctxT(t), 10, 0)
	if err != nil || len(r.Messages) != 1 || r.Messages[0].Content != "\uFEFFkept" {
		t.Fatalf("bob's inbox: %+v, %v; want the message, with the mark inside its content kept", r.Messages, err)
	}
	// A mark alone is an empty body, and two are not JSON.
	e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: "\uFEFF"}, 400, "bad_request")
	mcptest.Contains(t, "a body of a mark alone", e.Error.Message, "the request body is empty")
	f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: "\uFEFF\uFEFF{}"}, 400, "bad_request")
	// The offset of a byte that is not UTF-8 still counts the mark.
	e = f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: "\uFEFF{\"to\": \"bob\", \"content\": \"\xe9\"}"}, 400, "bad_request")
	mcptest.Contains(t, "a body with a mark that is not UTF-8", e.Error.Message, "byte 29 is 0xE9")
}

// TestLoneSurrogateEscape checks that a \u escape of half a surrogate
// pair is refused, naming it, where encoding/json stored U+FFFD in its
// place and the send was answered 201; whole pairs, escaped backslashes
// and other escapes come through as they are, read whole or a byte at a
// time.
func TestLoneSurrogateEscape(t *testing.T) {
	for in, bad := range map[string]int64{
		`"\ud83d\ude42 \u00e9 \\ud800 \n \u0041"`: -1,
		`"\uD83D\uDE42"`:           -1,
		`"\\\ud83d\ude42"`:         -1,
		`"cut \ud83d"`:             5,
		`"cut \ud83d\n"`:           5,
		`"two \ud83d\ud83d\ude42"`: 5,
		`"low \ude42 alone"`:       5,
		`"\\\ude42"`:               3,
	} {
		for name, r := range map[string]io.Reader{"whole": strings.NewReader(in), "bytes": iotest.OneByteReader(strings.NewReader(in))} {
			_, err := io.ReadAll(&utf8Body{r: r})
			half, _ := err.(*loneSurrogate)
			switch {
			case bad < 0 && err != nil:
				t.Errorf("%s (%s): %v", in, name, err)
			case bad >= 0 && (half == nil || half.offset != bad):
				t.Errorf("%s (%s): %v, want the escape at byte %d refused", in, name, err, bad)
			}
		}
	}

	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: `{"to": "bob", "content": "smile \ud83d"}`}, 400, "bad_request")
	mcptest.Contains(t, "a send with half a surrogate pair", e.Error.Message, `\ud83d at byte 32`, "half of a UTF-16 surrogate pair", "send whole characters")
	call := `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"send","arguments":{"to":"bob","content":"smile \ud83d"}}}`
	e = f.fails(req{method: "POST", path: "/mcp", key: key, body: call, header: map[string]string{
		"Accept": "application/json, text/event-stream"}}, 400, "bad_request")
	mcptest.Contains(t, "a tool call with half a surrogate pair", e.Error.Message, `\ud83d`, "surrogate pair")
	if r, err := bob.Check(ctxT(t), 10, 0); err != nil || len(r.Messages) != 0 {
		t.Fatalf("bob's inbox after sends with half a surrogate pair: %+v, %v; want nothing", r.Messages, err)
	}
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: `{"to": "bob", "content": "smile \ud83d\ude42"}`}, 201, nil)
	r, err := bob.Check(ctxT(t), 10, 0)
	if err != nil || len(r.Messages) != 1 || r.Messages[0].Content != "smile 🙂" {
		t.Fatalf("bob's inbox: %+v, %v; want the whole pair as 🙂", r.Messages, err)
	}
}
