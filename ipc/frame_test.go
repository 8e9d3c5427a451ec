package ipc_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestFrameRoundTrip(t *testing.T) {
	frames := []*ipc.Frame{
		{ID: 1, Op: ipc.OpHello, Body: json.RawMessage(`{"protocol":"ipcmesh","versions":[1]}`)},
		{ID: 1<<64 - 1, Op: ipc.OpSend, Body: json.RawMessage(`{"id":"abcdefgh","to":"bob","content":"héllo \u0000 <b>"}`)},
		{ID: 42, Body: json.RawMessage(`[]`)},
		{ID: 9, Error: &ipcmesh.Error{Code: ipcmesh.CodeRateLimited, Message: "slow down", RetryAfterMS: 20, Suggestions: []string{"a"}}},
		{Event: ipc.EventMessage, Body: json.RawMessage(`{"id":"x"}`)},
		{Event: ipc.EventGoaway},
	}
	var stream []byte
	for _, f := range frames {
		var err error
		if stream, err = ipc.AppendFrame(stream, f); err != nil {
			t.Fatalf("AppendFrame(%+v): %v", f, err)
		}
	}
	br := bufio.NewReader(bytes.NewReader(stream))
	for _, want := range frames {
		got, err := ipc.ReadFrame(br, 1<<20)
		if err != nil {
			t.Fatalf("ReadFrame: %v", err)
		}
		if !sameFrame(got, want) {
			t.Errorf("ReadFrame = %s, want %s", got.Body, want.Body)
		}
	}
	if _, err := ipc.ReadFrame(br, 1<<20); err != io.EOF {
		t.Errorf("ReadFrame at the end = %v, want io.EOF", err)
	}

	// WriteFrame writes what AppendFrame appends.
	var buf bytes.Buffer
	if err := ipc.WriteFrame(&buf, frames[1]); err != nil {
		t.Fatal(err)
	}
	want, _ := ipc.AppendFrame(nil, frames[1])
	if !bytes.Equal(buf.Bytes(), want) {
		t.Error("WriteFrame and AppendFrame disagree")
	}
}

// sameFrame compares frames with their bodies as JSON values: the encoder
// may spell a string differently ("<" as "\u003c") without changing it.
func sameFrame(a, b *ipc.Frame) bool {
	if a.ID != b.ID || a.Op != b.Op || a.Event != b.Event || !reflect.DeepEqual(a.Error, b.Error) {
		return false
	}
	if len(a.Body) == 0 || len(b.Body) == 0 {
		return len(a.Body) == len(b.Body)
	}
	var va, vb any
	if json.Unmarshal(a.Body, &va) != nil || json.Unmarshal(b.Body, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func prefix(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }

func TestReadFrameTooLarge(t *testing.T) {
	const max = 1 << 20
	// Only the length prefix is sent: a reader that trusted it would try
	// to allocate and read 4 GB.
	r := bufio.NewReader(bytes.NewReader(prefix(0xFFFFFFF0)))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ipc.ReadFrame(r, max)
	runtime.ReadMemStats(&after)
	var big *ipc.ErrFrameTooLarge
	if !errors.As(err, &big) {
		t.Fatalf("ReadFrame = %v, want *ErrFrameTooLarge", err)
	}
	if big.Size != 0xFFFFFFF0 || big.Max != max {
		t.Errorf("ErrFrameTooLarge = %+v", big)
	}
	wantMention(t, big.Error(), "4294967280", "1048576")
	if n := after.TotalAlloc - before.TotalAlloc; n > max {
		t.Errorf("ReadFrame allocated %d bytes for a frame it refused", n)
	}

	// One byte over the limit is refused, the limit itself is not.
	r = bufio.NewReader(bytes.NewReader(prefix(11)))
	if _, err := ipc.ReadFrame(r, 10); !errors.As(err, &big) {
		t.Errorf("ReadFrame of max+1 = %v, want *ErrFrameTooLarge", err)
	}
	payload := `{"id":12345}`
	r = bufio.NewReader(bytes.NewReader(append(prefix(uint32(len(payload))), payload...)))
	if f, err := ipc.ReadFrame(r, len(payload)); err != nil || f.ID != 12345 {
		t.Errorf("ReadFrame of exactly max = %+v, %v", f, err)
	}
}

func TestReadFrameBadInput(t *testing.T) {
	cases := []struct {
		name  string
		input []byte
		code  ipcmesh.Code // "" for a stream error
		err   error
	}{
		{"empty stream", nil, "", io.EOF},
		{"short prefix", []byte{0, 0}, "", io.ErrUnexpectedEOF},
		{"short payload", append(prefix(10), `{"id"`...), "", io.ErrUnexpectedEOF},
		{"prefix only", prefix(10), "", io.ErrUnexpectedEOF},
		{"empty frame", prefix(0), ipcmesh.CodeBadRequest, nil},
		{"not json", append(prefix(5), "hello"...), ipcmesh.CodeBadRequest, nil},
		{"json array", append(prefix(2), "[]"...), ipcmesh.CodeBadRequest, nil},
		{"wrong type", append(prefix(10), `{"id":"x"}`...), ipcmesh.CodeBadRequest, nil},
		{"negative id", append(prefix(9), `{"id":-1}`...), ipcmesh.CodeBadRequest, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ipc.ReadFrame(bufio.NewReader(bytes.NewReader(tc.input)), 1<<10)
			if tc.code != "" {
				e := wantCode(t, err, tc.code)
				if !strings.Contains(e.Message, "JSON") {
					t.Errorf("message %q does not say a frame holds JSON", e.Message)
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("ReadFrame = %v, want %v", err, tc.err)
			}
		})
	}
}

// A bad frame in the middle of a stream does not put the reader out of
// step: the next frame reads fine.
func TestReadFrameResync(t *testing.T) {
	var stream []byte
	stream = append(stream, prefix(5)...)
	stream = append(stream, "nope!"...)
	stream, _ = ipc.AppendFrame(stream, &ipc.Frame{ID: 3, Op: ipc.OpList})
	br := bufio.NewReader(bytes.NewReader(stream))
	if _, err := ipc.ReadFrame(br, 1<<10); ipcmesh.CodeOf(err) != ipcmesh.CodeBadRequest {
		t.Fatalf("first frame: %v, want bad_request", err)
	}
	f, err := ipc.ReadFrame(br, 1<<10)
	if err != nil || f.ID != 3 || f.Op != ipc.OpList {
		t.Fatalf("second frame = %+v, %v", f, err)
	}
}

// Markup crosses the wire as it is: escaping <, > and & would make a body
// of code or HTML up to six times larger and push it over the frame limit.
func TestFrameKeepsMarkupUnescaped(t *testing.T) {
	body, err := ipc.Marshal(ipc.SendRequest{ID: "0123456789", Outgoing: ipc.Outgoing{To: "bob", Content: "if a < b && c > d { <b>x</b> }"}})
	if err != nil {
		t.Fatal(err)
	}
	buf, err := ipc.AppendFrame(nil, &ipc.Frame{ID: 1, Op: ipc.OpSend, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(buf, []byte("if a < b && c > d { <b>x</b> }")) {
		t.Fatalf("frame escaped the markup: %s", buf[4:])
	}
	f, err := ipc.ReadFrame(bufio.NewReader(bytes.NewReader(buf)), 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	var got ipc.SendRequest
	if err := json.Unmarshal(f.Body, &got); err != nil || got.Content != "if a < b && c > d { <b>x</b> }" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
}

// AppendFrame writes what encoding/json would write for a frame whose body
// is compact JSON (as Marshal makes every body), byte for byte.
func TestAppendFrameMatchesEncodingJSON(t *testing.T) {
	body, err := ipc.Marshal(map[string]any{"content": "<b>x</b> & \"quotes\" \u2028 é", "n": 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []ipc.Frame{
		{},
		{ID: 1, Op: ipc.OpSend, Body: body},
		{ID: 18446744073709551615, Op: "odd \"op\"\n\u00e9"},
		{Event: ipc.EventMessage, Body: body},
		{ID: 7, Error: &ipcmesh.Error{Code: ipcmesh.CodeNotFound, Message: "no <such> thing", Suggestions: []string{"a"}}},
		{ID: 8, Body: []byte(`{}`), Error: &ipcmesh.Error{Code: ipcmesh.CodeInternal, Message: "m"}},
	} {
		got, err := ipc.AppendFrame([]byte("prefix"), &f)
		if err != nil {
			t.Fatalf("AppendFrame(%+v): %v", f, err)
		}
		if string(got[:6]) != "prefix" {
			t.Fatalf("AppendFrame changed what was before it: %q", got[:6])
		}
		got = got[6:]
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		wantJSON := bytes.TrimSuffix(want.Bytes(), []byte("\n"))
		if n := binary.BigEndian.Uint32(got); int(n) != len(got)-4 {
			t.Errorf("length prefix %d, payload %d bytes", n, len(got)-4)
		}
		if !bytes.Equal(got[4:], wantJSON) {
			t.Errorf("frame %+v:\n got %s\nwant %s", f, got[4:], wantJSON)
		}
		back, err := ipc.ReadFrame(bufio.NewReader(bytes.NewReader(got)), 1<<20)
		if err != nil || back.ID != f.ID || back.Op != f.Op || back.Event != f.Event || !bytes.Equal(back.Body, f.Body) {
			t.Errorf("read back %+v, %v; want %+v", back, err, f)
		}
	}
}
