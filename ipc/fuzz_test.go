package ipc_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzReadFrame feeds arbitrary bytes to ReadFrame with a small limit: it
// must never panic, never take more of the stream than one frame of at most
// max bytes, and whatever it decodes must encode again to the same frame.
func FuzzReadFrame(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzReadFrame.
	const max = 512
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		br := bufio.NewReaderSize(cr, 16)
		consumed := 0
		for {
			fr, err := ipc.ReadFrame(br, max)
			used := cr.n - br.Buffered()
			if n := used - consumed; n > 4+max {
				t.Fatalf("ReadFrame took %d bytes of the stream for one frame, limit %d", n, max)
			}
			consumed = used
			if err != nil {
				var big *ipc.ErrFrameTooLarge
				switch {
				case errors.As(err, &big):
					if big.Size <= max || big.Max != max {
						t.Fatalf("ErrFrameTooLarge %+v with max %d", big, max)
					}
					return // the stream cannot be resynchronised
				case ipcmesh.CodeOf(err) == ipcmesh.CodeBadRequest:
					continue // a whole frame was read; the stream is in step
				case err == io.EOF || err == io.ErrUnexpectedEOF:
					return
				default:
					t.Fatalf("ReadFrame: unexpected error %v (%T)", err, err)
				}
			}
			enc, err := ipc.AppendFrame(nil, fr)
			if err != nil {
				t.Fatalf("a decoded frame does not encode: %v (%+v)", err, fr)
			}
			again, err := ipc.ReadFrame(bufio.NewReader(bytes.NewReader(enc)), len(enc))
			if err != nil {
				t.Fatalf("a re-encoded frame does not decode: %v\n%q", err, enc)
			}
			if again.ID != fr.ID || again.Op != fr.Op || again.Event != fr.Event || !sameError(again.Error, fr.Error) || !sameFrame(&ipc.Frame{Body: again.Body}, &ipc.Frame{Body: fr.Body}) {
				t.Fatalf("round trip changed the frame:\n%+v\n%+v", fr, again)
			}
			if enc2, _ := ipc.AppendFrame(nil, again); !bytes.Equal(enc, enc2) {
				t.Fatalf("encoding is not stable:\n%q\n%q", enc, enc2)
			}
		}
	})
}

func sameError(a, b *ipcmesh.Error) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Code == b.Code && a.Message == b.Message && a.RetryAfterMS == b.RetryAfterMS && slices.Equal(a.Suggestions, b.Suggestions)
}

// fuzzTarget is the broker and connections one fuzz process shares.
type fuzzTarget struct {
	m      *mesh
	raw    *rawConn
	helper *peer
	name   string // what raw acts as; "" after unregister
	fresh  int
}

// FuzzRequest sends an arbitrary op and body on an authenticated,
// registered connection. The broker must answer every frame with a result
// or a structured error, promptly, and keep serving that connection and
// others.
func FuzzRequest(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzRequest.
	m := startMesh(f, func(o *meshOptions) {
		o.Config.Limits = ipc.Limits{
			OpsPerSecond: 1e9, OpsBurst: 1e9,
			RegisterPerSecond: 1e9, RegisterBurst: 1e9,
		}
	})
	helper, err := m.tryDial(m.Keys, ipc.DialOptions{OnEvent: func(ipc.Event) {}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { helper.Close() })
	helper.register(f, ipc.RegisterRequest{Name: "fuzz-helper", Subscribe: true})
	ft := &fuzzTarget{m: m, raw: m.rawAuthed(f), helper: helper}
	ft.claim(f, "fuzzer")

	f.Fuzz(func(t *testing.T, op string, body []byte) {
		ft.raw.tb = t
		if ft.name == "" {
			ft.fresh++
			ft.claim(t, "fuzzer"+strconv.Itoa(ft.fresh))
		}
		ft.raw.id++
		id := ft.raw.id
		payload := []byte(`{"id":` + strconv.FormatUint(id, 10) + `,"op":`)
		opJSON, _ := json.Marshal(op)
		payload = append(payload, opJSON...)
		if len(body) > 0 {
			payload = append(payload, `,"body":`...)
			payload = append(payload, body...)
		}
		payload = append(payload, '}')
		// The body may end the object early and add keys of its own
		// (`1,"id":7` makes the frame's id 7, `1,"op":"x"` its op): the
		// frame is what encoding/json reads in the payload, as the
		// broker reads it.
		var sent ipc.Frame
		valid := json.Unmarshal(payload, &sent) == nil
		if !valid {
			sent = ipc.Frame{} // not a frame: the broker cannot know its id
		}
		id, op = sent.ID, sent.Op
		if err := ft.raw.writePayload(payload); err != nil {
			t.Fatalf("write: %v", err)
		}
		reply := ft.reply(t, id)
		if reply.Error != nil {
			if reply.Error.Code == "" || reply.Error.Message == "" {
				t.Fatalf("unstructured error %+v", reply.Error)
			}
			if reply.Error.Code == ipcmesh.CodeInternal {
				t.Fatalf("op %q body %q: internal error %v", op, body, reply.Error)
			}
			if !valid && reply.Error.Code != ipcmesh.CodeBadRequest {
				t.Fatalf("a malformed frame got %v, want bad_request", reply.Error)
			}
		} else {
			if !valid {
				t.Fatalf("a malformed frame got a result: %s", reply.Body)
			}
			ft.follow(t, op, reply.Body)
		}
		ft.healthy(t)
	})
}

// reply waits for the answer to id with a deadline far beyond any
// legitimate answer time; every check is made to find mail at once.
func (ft *fuzzTarget) reply(t *testing.T, id uint64) *ipc.Frame {
	ft.raw.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		f, err := ipc.ReadFrame(ft.raw.br, ipc.MaxResponseFrame)
		if err != nil {
			t.Fatalf("no answer to request %d: %v", id, err)
		}
		if f.Event == "" && f.ID == id {
			return f
		}
	}
}

// claim registers name on the raw connection and gives it mail, so that
// a check on it never waits.
func (ft *fuzzTarget) claim(tb testing.TB, name string) {
	tb.Helper()
	if f := ft.raw.call(ipc.OpRegister, ipc.RegisterRequest{Name: name, Subscribe: true}); f.Error != nil {
		tb.Fatalf("register %s: %v", name, f.Error)
	}
	ft.name = name
	ft.helper.send(tb, name, "something to check")
}

// follow tracks what the raw connection acts as after a successful op.
func (ft *fuzzTarget) follow(t *testing.T, op string, body json.RawMessage) {
	switch op {
	case ipc.OpRegister, ipc.OpResume, ipc.OpRename:
		var s ipc.Session
		if err := json.Unmarshal(body, &s); err != nil || s.Name == "" {
			t.Fatalf("%s answered %s", op, body)
		}
		if s.Name != ft.name {
			ft.name = s.Name
			if s.Unread == 0 {
				ft.helper.send(t, s.Name, "something to check")
			}
		}
	case ipc.OpUnregister:
		ft.name = ""
	case ipc.OpAck:
		// The fuzzer cannot know the ids it would need, but if it acked
		// everything, give the name mail again.
		if n, err := ft.m.Store.UnreadCount(ft.name); err == nil && n == 0 && ft.name != "" {
			ft.helper.send(t, ft.name, "something to check")
		}
	case ipc.OpBackup:
		var res ipc.BackupResult
		if err := json.Unmarshal(body, &res); err != nil || filepath.Dir(res.Path) != filepath.Join(ft.m.Dir, "backups") {
			t.Fatalf("backup answered %s", body)
		}
		os.Remove(res.Path) // a long fuzz run must not fill the disk
	}
}

// healthy checks that the broker still serves an ordinary client, and the
// fuzzed connection too.
func (ft *fuzzTarget) healthy(t *testing.T) {
	res := ft.helper.send(t, "fuzz-helper", "still alive")
	var got ipc.CheckResult
	ft.helper.must(t, ipc.OpCheck, ipc.CheckRequest{Limit: 1000}, &got)
	ids := make([]string, 0, len(got.Messages))
	found := false
	for _, msg := range got.Messages {
		ids = append(ids, msg.ID)
		found = found || msg.ID == res.Message.ID
	}
	if !found {
		t.Fatalf("the helper's own message is not in its inbox")
	}
	ft.helper.must(t, ipc.OpAck, ipc.AckRequest{IDs: ids}, nil)
	if f := ft.raw.call(ipc.OpStatus, nil); f.Error != nil {
		t.Fatalf("status on the fuzzed connection: %v", f.Error)
	}
}
