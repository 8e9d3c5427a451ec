package ipc

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ipcmesh/ipcmesh"
)

// DefaultMaxFrame bounds a request frame's payload unless configured
// otherwise: room for the largest message body (8 MiB) and then some.
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
// many bytes of JSON. It never allocates more than max bytes for a frame, so
// a hostile length prefix costs nothing.
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
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return DecodeFrame(buf)
}

// DecodeFrame parses a frame payload. Errors are *ipcmesh.Error with
// bad_request: the frame was whole, so the connection can go on.
func DecodeFrame(payload []byte) (*Frame, error) {
	var f Frame
	if err := json.Unmarshal(payload, &f); err != nil {
		return nil, ipcmesh.Errorf(ipcmesh.CodeBadRequest, "frame is not a valid JSON object: %v", err)
	}
	return &f, nil
}

// AppendFrame appends the encoding of f (length prefix and JSON) to dst.
// One encode per frame: the body is already JSON.
func AppendFrame(dst []byte, f *Frame) ([]byte, error) {
	start := len(dst)
	w := bytes.NewBuffer(append(dst, 0, 0, 0, 0))
	if err := encode(w, f); err != nil {
		return dst[:start], fmt.Errorf("encode frame: %w", err)
	}
	dst = w.Bytes()
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst, nil
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
