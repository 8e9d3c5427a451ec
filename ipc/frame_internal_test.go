package ipc

import (
	"bytes"
	"encoding/json"
	"testing"
)

// decodeCompact must accept only what json.Unmarshal accepts, and decode
// it the same way: it is a shortcut, never a second grammar. Seeds:
// testdata/fuzz/FuzzDecodeFrame (frames as AppendFrame writes them, and
// near misses of that shape).
func FuzzDecodeFrame(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		fast, ok := decodeCompact(payload)
		var slow Frame
		err := json.Unmarshal(payload, &slow)
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

// Every frame AppendFrame writes without an error takes the shortcut.
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
		got, ok := decodeCompact(buf[4:])
		if !ok {
			t.Errorf("%s did not take the shortcut", buf[4:])
			continue
		}
		if got.ID != f.ID || got.Op != f.Op || got.Event != f.Event || !bytes.Equal(got.Body, f.Body) {
			t.Errorf("%s decoded as %+v", buf[4:], got)
		}
	}
}
