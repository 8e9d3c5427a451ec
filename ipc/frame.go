package ipc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/ipcmesh/ipcmesh"
)

// DefaultMaxFrame bounds a request frame's payload unless configured
// otherwise: room for the largest message body
// (store.DefaultMaxMessageBytes) and then some.
const DefaultMaxFrame = 16 << 20

// MaxResponseFrame bounds what a client reads. Responses carry bodies the
// broker has accepted, and JSON escaping can make a body up to six times
// longer (a control character becomes \u00XX), so an 8 MiB body fits.
const MaxResponseFrame = 64 << 20

// Frame is one unit on the wire: a request (Op set), a response (ID set, Op
// empty) or an event pushed by the broker (Event set).
type Frame struct {
	ID    uint64          `json:"id,omitempty"`
	Op    string          `json:"op,omitempty"`
	Event string          `json:"event,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
	Error *ipcmesh.Error  `json:"error,omitempty"`
}

// ErrFrameTooLarge is returned by ReadFrame for a length prefix over the
// limit. The stream cannot be resynchronised after it, so the connection
// must be closed.
type ErrFrameTooLarge struct{ Size, Max int }

func (e *ErrFrameTooLarge) Error() string {
	return fmt.Sprintf("frame of %d bytes is over the limit of %d bytes", e.Size, e.Max)
}

// ReadFrame reads one frame: a 4-byte big-endian payload length, then that
// many bytes of JSON. It never allocates more than max bytes for a frame,
// nor much more than twice what has arrived of it, so a hostile length
// prefix costs nothing.
func ReadFrame(r *bufio.Reader, max int) (*Frame, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > max {
		return nil, &ErrFrameTooLarge{Size: n, Max: max}
	}
	if n == 0 {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "empty frame: every frame carries a JSON object")
	}
	buf, err := readPayload(r, n)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return DecodeFrame(buf)
}

// payloadChunk is what readPayload allocates of a frame before any of it
// has arrived: nearly every frame fits, and is read with one allocation.
const payloadChunk = 64 << 10

// readPayload reads n bytes, growing its buffer as they arrive, twice as
// large each time. Allocated whole, the buffer of a frame announced at the
// limit and never sent cost the limit, 16 MiB, for the five bytes that
// announced it: 200 connections doing so made a broker hold 3.2 GiB,
// resident once the freed buffers were used again. Growing costs a large
// frame copies of less than its size.
func readPayload(r io.Reader, n int) ([]byte, error) {
	buf := make([]byte, min(n, payloadChunk))
	read := 0
	for {
		if _, err := io.ReadFull(r, buf[read:]); err != nil {
			return nil, err
		}
		read = len(buf)
		if read == n {
			return buf, nil
		}
		more := make([]byte, min(2*read, n))
		copy(more, buf)
		buf = more
	}
}

// DecodeFrame parses a frame payload. Errors are *ipcmesh.Error with
// bad_request: the frame was whole, so the connection can go on. The
// frame's Body may share payload's array.
func DecodeFrame(payload []byte) (*Frame, error) {
	if f, ok := decodeCompact(payload); ok {
		return f, nil
	}
	var f Frame
	if err := json.Unmarshal(payload, &f); err != nil {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "frame is not a valid JSON object: %v", err)
	}
	return &f, nil
}

// decodeCompact parses a frame laid out as AppendFrame lays it out, the
// shape of nearly every frame on the wire: {"id":N,"op":"..","event":"..",
// "body":..}, each field optional but in that order, no spaces between
// them, ASCII words, the body last and no error. It reports false for
// anything else, which DecodeFrame then hands to encoding/json, so it
// accepts nothing that json.Unmarshal would refuse, and decodes what it
// accepts as json.Unmarshal would (FuzzDecodeFrame checks both). It saves
// the scans of encoding/json's validation and reflection over the
// envelope: the body is checked once, here, and decoded by its reader.
func decodeCompact(p []byte) (*Frame, bool) {
	if len(p) < 2 || p[0] != '{' || p[len(p)-1] != '}' {
		return nil, false
	}
	f := &Frame{}
	rest := p[1 : len(p)-1]
	if len(rest) == 0 {
		return f, true
	}
	if v, ok := cutKey(rest, `"id":`); ok {
		n, after, ok := cutUint(v)
		if !ok {
			return nil, false
		}
		f.ID = n
		if rest, ok = cutComma(after); !ok {
			return f, len(after) == 0
		}
	}
	for _, w := range [...]struct {
		key string
		dst *string
	}{{`"op":`, &f.Op}, {`"event":`, &f.Event}} {
		v, ok := cutKey(rest, w.key)
		if !ok {
			continue
		}
		s, after, ok := cutWord(v)
		if !ok {
			return nil, false
		}
		*w.dst = s
		if rest, ok = cutComma(after); !ok {
			return f, len(after) == 0
		}
	}
	body, ok := cutKey(rest, `"body":`)
	if !ok || len(body) == 0 || isSpace(body[0]) || isSpace(body[len(body)-1]) || !json.Valid(body) {
		return nil, false
	}
	f.Body = body
	return f, true
}

func cutKey(p []byte, key string) ([]byte, bool) {
	if len(p) < len(key) || string(p[:len(key)]) != key {
		return nil, false
	}
	return p[len(key):], true
}

// cutComma cuts the comma that must follow a field: false if there is
// none.
func cutComma(p []byte) ([]byte, bool) {
	if len(p) == 0 || p[0] != ',' {
		return nil, false
	}
	return p[1:], true
}

// cutUint cuts a JSON number that fits a uint64 and is written as
// AppendUint writes it: digits, no leading zero, no fraction, no exponent.
func cutUint(p []byte) (uint64, []byte, bool) {
	i := 0
	var n uint64
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		d := uint64(p[i] - '0')
		if n > (math.MaxUint64-d)/10 {
			return 0, nil, false
		}
		n = n*10 + d
		i++
	}
	if i == 0 || i > 1 && p[0] == '0' {
		return 0, nil, false
	}
	return n, p[i:], true
}

// cutWord cuts a JSON string of printable ASCII without escapes, as ops
// and events are.
func cutWord(p []byte) (string, []byte, bool) {
	if len(p) == 0 || p[0] != '"' {
		return "", nil, false
	}
	for i := 1; i < len(p); i++ {
		switch c := p[i]; {
		case c == '"':
			return string(p[1:i]), p[i+1:], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", nil, false
		}
	}
	return "", nil, false
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// AppendFrame appends the encoding of f (length prefix and JSON) to dst.
// One encode per frame: f.Body must already be JSON (as Marshal makes it)
// and is copied as it is, unchecked: bodies come from Marshal, never from
// the wire. Encoding the frame with encoding/json would scan and compact
// the body once more, which was the most expensive step of pushing a
// message (BenchmarkFrameCodec: 6.1 µs before, 4.3 µs after).
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, '{')
	n := 0
	field := func(name string) {
		if n > 0 {
			dst = append(dst, ',')
		}
		n++
		dst = append(dst, '"')
		dst = append(dst, name...)
		dst = append(dst, '"', ':')
	}
	if f.ID != 0 {
		field("id")
		dst = strconv.AppendUint(dst, f.ID, 10)
	}
	var err error
	if f.Op != "" {
		field("op")
		if dst, err = appendString(dst, f.Op); err != nil {
			return dst[:start], fmt.Errorf("encode frame: %w", err)
		}
	}
	if f.Event != "" {
		field("event")
		if dst, err = appendString(dst, f.Event); err != nil {
			return dst[:start], fmt.Errorf("encode frame: %w", err)
		}
	}
	if len(f.Body) > 0 {
		field("body")
		dst = append(dst, f.Body...)
	}
	if f.Error != nil {
		field("error")
		b, err := Marshal(f.Error)
		if err != nil {
			return dst[:start], fmt.Errorf("encode frame: %w", err)
		}
		dst = append(dst, b...)
	}
	dst = append(dst, '}')
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
}

// appendString appends s as a JSON string. Ops and events are short ASCII
// words, copied between quotes; anything else goes through Marshal.
func appendString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b, err := Marshal(s)
			return append(dst, b...), err
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}

// Marshal encodes v as JSON the way frames carry it: without escaping <, >
// and &, which json.Marshal would turn into six bytes each. Messages are
// full of code and markup; escaping would only make them larger.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func encode(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Truncate(w.Len() - 1) // Encode ends with a newline
	return nil
}

// WriteFrame writes one frame to w.
func WriteFrame(w io.Writer, f *Frame) error {
	buf, err := AppendFrame(nil, f)
	if err != nil {
		return err
	}
	_, err = w.Write(buf)
	return err
}
