package ipc

import (
	"bytes"
	"encoding/json"
	"net"
	"reflect"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/bufpipe"
)

// decodeCompact must accept only what json.Unmarshal accepts, and decode
// it the same way: it is a shortcut, never a second grammar. A frame that
// json.Unmarshal accepts, written again by AppendFrame, must decode the
// same way once more when trusted, which is how a Broker.Pipe's ends read
// it. Seeds: testdata/fuzz/FuzzDecodeFrame (frames as AppendFrame writes
// them, and near misses of that shape).
func FuzzDecodeFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		fast, ok := decodeCompact(payload, false)
		var slow Frame
		err := json.Unmarshal(payload, &slow)
		if err == nil {
			buf, aerr := AppendFrame(nil, &slow)
			if aerr != nil {
				t.Fatalf("AppendFrame(%+v): %v", slow, aerr)
			}
			again, derr := decodeFrame(buf[4:], true)
			if derr != nil {
				t.Fatalf("%q, written again as %q, does not decode when trusted: %v", payload, buf[4:], derr)
			}
			if !sameFrame(again, &slow) {
				t.Fatalf("%q, written again as %q, decodes when trusted as %+v, want %+v", payload, buf[4:], again, slow)
			}
		}
		if !ok {
			return
		}
		if err != nil {
			t.Fatalf("decodeCompact accepted %q, which json.Unmarshal refuses: %v", payload, err)
		}
		if fast.ID != slow.ID || fast.Op != slow.Op || fast.Event != slow.Event || !bytes.Equal(fast.Body, slow.Body) || slow.Error != nil {
			t.Fatalf("%q: decodeCompact gives %+v, json.Unmarshal %+v", payload, fast, slow)
		}
	})
}

func sameFrame(a, b *Frame) bool {
	return a.ID == b.ID && a.Op == b.Op && a.Event == b.Event && bytes.Equal(a.Body, b.Body) && reflect.DeepEqual(a.Error, b.Error)
}

// Every frame AppendFrame writes without an error takes the shortcut,
// checked or trusted.
func TestAppendedFramesDecodeCompact(t *testing.T) {
	for _, f := range []*Frame{
		{},
		{ID: 1},
		{ID: 18446744073709551615, Op: OpSend, Body: json.RawMessage(`{"to":"bob","content":"hi \"there\"\n"}`)},
		{ID: 7, Body: json.RawMessage(`{"messages":[]}`)},
		{Event: EventMessage, Body: json.RawMessage(`{"id":"x"}`)},
		{ID: 3, Op: OpStatus},
	} {
		buf, err := AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, trusted := range []bool{false, true} {
			got, ok := decodeCompact(buf[4:], trusted)
			if !ok {
				t.Errorf("%s (trusted %v) did not take the shortcut", buf[4:], trusted)
				continue
			}
			if !sameFrame(got, f) {
				t.Errorf("%s (trusted %v) decoded as %+v", buf[4:], trusted, got)
			}
		}
	}
}

// A trusted frame with an error, even one carrying a body as well, is
// decoded whole: the shortcut would take the error for part of the body.
func TestTrustedErrorFramesDecodeWhole(t *testing.T) {
	for _, f := range []*Frame{
		{ID: 9, Error: ipcmesh.Errorf(ipcmesh.CodeNotFound, "no such name: bob")},
		{ID: 9, Body: json.RawMessage(`{"a":1}`), Error: ipcmesh.Errorf(ipcmesh.CodeBadRequest, "both")},
	} {
		buf, err := AppendFrame(nil, f)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeFrame(buf[4:], true)
		if err != nil {
			t.Fatalf("%s: %v", buf[4:], err)
		}
		if !sameFrame(got, f) {
			t.Errorf("%s decoded as %+v, error %v", buf[4:], got, got.Error)
		}
	}
}

// Only the ends of a Broker.Pipe are trusted, not a socket, nor a pipe's
// end that someone wrapped.
func TestOnlyThePipeIsTrusted(t *testing.T) {
	a, b := bufpipe.Pipe(1)
	defer a.Close()
	defer b.Close()
	if trusts(a) {
		t.Error("a bare bufpipe end is trusted")
	}
	if !trusts(&pipeEnd{a, new(pipeLink)}) {
		t.Error("a Broker.Pipe end is not trusted")
	}
	if trusts(struct{ net.Conn }{&pipeEnd{a, new(pipeLink)}}) {
		t.Error("a wrapped Broker.Pipe end is trusted")
	}
}
