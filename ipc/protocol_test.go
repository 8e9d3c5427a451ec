package ipc_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestOversizeFrame(t *testing.T) {
	const max = 1 << 20
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.MaxFrame = max })
	other := m.join(t, "other")

	r := m.rawAuthed(t)
	// The start of a frame over the limit, as a client would stream it.
	r.nc.Write(prefix(max + 1))
	r.nc.Write(bytes.Repeat([]byte{'x'}, 256<<10))
	got := r.wantClosed()
	if len(got) != 1 {
		t.Fatalf("got %d frames, want one too_large error", len(got))
	}
	if got[0].ID != 0 {
		t.Errorf("too_large answer has id %d, want 0", got[0].ID)
	}
	e := wantCode(t, got[0].Error, ipcmesh.CodeTooLarge)
	wantMention(t, e.Message, fmt.Sprint(max+1), fmt.Sprint(max))

	// Others are not disturbed.
	var st ipc.StatusResult
	other.must(t, ipc.OpStatus, nil, &st)
	m.join(t, "newcomer").send(t, "other", "still here")
}

// A client asked to send a frame over its limit refuses it itself: the
// caller gets too_large and the connection, with every other request on
// it, carries on.
func TestClientRefusesOversizeFrame(t *testing.T) {
	const max = 1 << 20
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.MaxFrame = max })
	p := m.dial(t)
	p.Session = p.register(t, ipc.RegisterRequest{Name: "big"})
	c, err := m.tryDial(m.Keys, ipc.DialOptions{MaxFrame: max})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.register(t, ipc.RegisterRequest{Name: "sender"})
	err = c.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "big", Content: strings.Repeat("y", max)}}, nil)
	e := wantCode(t, err, ipcmesh.CodeTooLarge)
	wantMention(t, e.Message, "limit")
	c.send(t, "big", "small is fine")
	if msgs := p.check(t); len(msgs) != 1 || msgs[0].Content != "small is fine" {
		t.Fatalf("big has %+v, want only the small message", msgs)
	}
}

func TestMalformedFrameKeepsConnection(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawAuthed(t)
	for _, payload := range []string{`{"id":5,"op":`, `not json at all`, `[1,2,3]`, `{"id":"five"}`, "\x00\xff"} {
		r.writePayload([]byte(payload))
		f := r.reply(0)
		e := wantCode(t, f.Error, ipcmesh.CodeBadRequest)
		wantMention(t, e.Message, "JSON")
	}
	// An empty frame is a whole frame too.
	r.writePayload(nil)
	wantCode(t, r.reply(0).Error, ipcmesh.CodeBadRequest)

	f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "steady"})
	if f.Error != nil {
		t.Fatalf("register after malformed frames: %v", f.Error)
	}
	f = r.call(ipc.OpStatus, nil)
	if f.Error != nil {
		t.Fatalf("status after malformed frames: %v", f.Error)
	}
}

func TestUnknownOp(t *testing.T) {
	m := startMesh(t, nil)
	p := m.dial(t)
	for _, op := range []string{"teleport", ipc.OpHello, ipc.OpAuth, strings.Repeat("z", 1000)} {
		err := p.call(op, map[string]string{"x": "y"}, nil)
		e := wantCode(t, err, ipcmesh.CodeUnknownOp)
		wantMention(t, e.Message, "unknown op", "PROTOCOL.md")
		if len(e.Message) > 300 {
			t.Errorf("unknown op message is %d bytes long: it should not echo a long op", len(e.Message))
		}
	}
	p.must(t, ipc.OpStatus, nil, nil)
}

func TestRequestNeedsIDAndOp(t *testing.T) {
	m := startMesh(t, nil)
	r := m.rawAuthed(t)

	r.writePayload([]byte(`{"op":"status"}`))
	e := wantCode(t, r.reply(0).Error, ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, "non-zero id")

	r.writePayload([]byte(`{"id":77,"body":{}}`))
	e = wantCode(t, r.reply(77).Error, ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, "op")

	if f := r.call(ipc.OpStatus, nil); f.Error != nil {
		t.Fatalf("status afterwards: %v", f.Error)
	}
}

func TestSendMissingFields(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "alice")
	m.join(t, "bob")
	cases := []struct {
		name  string
		body  any
		code  ipcmesh.Code
		words []string
	}{
		{"no id", map[string]string{"to": "bob", "content": "hi"}, ipcmesh.CodeBadRequest, []string{"message id", "ipc.NewID"}},
		{"short id", ipc.SendRequest{ID: "abc", Outgoing: ipc.Outgoing{To: "bob", Content: "hi"}}, ipcmesh.CodeBadRequest, []string{"8 to 64", "32 random hex digits"}},
		{"id with a dot", ipc.SendRequest{ID: "abcdefgh.bob", Outgoing: ipc.Outgoing{To: "bob", Content: "hi"}}, ipcmesh.CodeBadRequest, []string{"letters, digits"}},
		{"no to", map[string]string{"id": ipc.NewID(), "content": "hi"}, ipcmesh.CodeInvalidName, []string{"name is required"}},
		{"bad to", ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "../etc/passwd", Content: "hi"}}, ipcmesh.CodeInvalidName, []string{"letters, digits"}},
		{"long to", ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: strings.Repeat("b", 40), Content: "hi"}}, ipcmesh.CodeInvalidName, []string{"at most 32"}},
		{"no content", map[string]string{"id": ipc.NewID(), "to": "bob"}, ipcmesh.CodeBadRequest, []string{"empty", "content"}},
		{"body not an object", []int{1, 2}, ipcmesh.CodeBadRequest, []string{"send", "not valid", "PROTOCOL.md"}},
		{"wrong type", map[string]any{"id": 12345678, "to": "bob", "content": "hi"}, ipcmesh.CodeBadRequest, []string{"not valid"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := p.call(ipc.OpSend, tc.body, nil)
			e := wantCode(t, err, tc.code)
			wantMention(t, e.Message, tc.words...)
		})
	}
	// Missing fields of other ops.
	for _, tc := range []struct {
		op    string
		body  any
		code  ipcmesh.Code
		words []string
	}{
		{ipc.OpBroadcast, map[string]string{"content": "hi"}, ipcmesh.CodeBadRequest, []string{"message id"}},
		{ipc.OpBroadcast, map[string]string{"id": ipc.NewID()}, ipcmesh.CodeBadRequest, []string{"empty"}},
		{ipc.OpFetch, map[string]string{}, ipcmesh.CodeBadRequest, []string{"id of a message"}},
		{ipc.OpFetch, ipc.FetchRequest{ID: "nosuchmessage"}, ipcmesh.CodeNotFound, []string{"nosuchmessage", "kept 30 days"}},
		{ipc.OpRegister, map[string]string{}, ipcmesh.CodeInvalidName, []string{"name is required"}},
		{ipc.OpRename, map[string]string{"new_name": "zed"}, ipcmesh.CodeBadRequest, []string{"request_id"}},
		{ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "a b"}, ipcmesh.CodeInvalidName, []string{"letters, digits"}},
		{ipc.OpResume, map[string]string{}, ipcmesh.CodeBadRequest, []string{"token"}},
		{ipc.OpAck, map[string]any{"ids": "x"}, ipcmesh.CodeBadRequest, []string{"not valid"}},
	} {
		err := p.call(tc.op, tc.body, nil)
		e := wantCode(t, err, tc.code)
		wantMention(t, e.Message, tc.words...)
	}
	if msgs := m.join(t, "carol").check(t); len(msgs) != 0 {
		t.Errorf("carol has %d messages", len(msgs))
	}
}

// A not_found of fetch or of a thread's history says how long read
// messages are kept as the mesh keeps them, not rounded down to whole days
// ("kept 0 days"), whether no message has the id or the caller may not
// read the one that has it.
func TestFetchNotFoundSaysTheRetention(t *testing.T) {
	m := startMesh(t, func(o *meshOptions) { o.Store.HistoryRetention = 90 * time.Minute })
	alice, carol := m.join(t, "alice"), m.join(t, "carol")
	m.join(t, "bob")
	sent := alice.send(t, "bob", "not for carol")
	for _, id := range []string{"nosuchmessage", sent.Message.ID} {
		e := carol.refused(t, ipcmesh.CodeNotFound, ipc.OpFetch, ipc.FetchRequest{ID: id})
		wantMention(t, e.Message, "kept 1h30m")
		e = carol.refused(t, ipcmesh.CodeNotFound, ipc.OpHistory, ipc.HistoryRequest{Thread: id})
		wantMention(t, e.Message, "kept 1h30m")
	}
}

// Many requests in flight on one connection each get their own answer.
func TestManyInFlight(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "busy")
	bob := m.join(t, "bob")
	const n = 200
	ids := make([]string, n)
	for i := range ids {
		ids[i] = ipc.NewID()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			content := fmt.Sprintf("message %d", i)
			var res ipc.SendResult
			if err := p.call(ipc.OpSend, ipc.SendRequest{ID: ids[i], Outgoing: ipc.Outgoing{To: "bob", Content: content}}, &res); err != nil {
				errs <- err
				return
			}
			if res.Message.ID != ids[i] || res.Message.Content != content || res.Message.From != "busy" || !res.Online {
				errs <- fmt.Errorf("send %d answered with %+v", i, res)
			}
		})
		wg.Go(func() {
			var st ipc.StatusResult
			if err := p.call(ipc.OpStatus, nil, &st); err != nil {
				errs <- err
			} else if st.Version != ipc.Version {
				errs <- fmt.Errorf("status answered with %+v", st)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	msgs := bob.check(t)
	if len(msgs) != n {
		t.Fatalf("bob has %d messages, want %d", len(msgs), n)
	}
	seen := map[string]bool{}
	for i, msg := range msgs {
		seen[msg.ID] = true
		if i > 0 && msg.Seq <= msgs[i-1].Seq {
			t.Errorf("messages out of order: seq %d after %d", msg.Seq, msgs[i-1].Seq)
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("message %s missing", id)
		}
	}
}

// A client whose own frame limit is larger than its broker's (a command
// run with a raised IPC_MAX_FRAME_BYTES against a broker started
// without it) refuses a frame over the broker's limit itself, naming
// that limit. Sent, it made the broker cut the connection, and the peer
// sent it again on the next one, and again, for as long as it ran.
func TestClientRefusesFrameOverTheBrokersLimit(t *testing.T) {
	const max = 1 << 20
	m := startMesh(t, func(o *meshOptions) { o.Config.Limits.MaxFrame = max })
	p := m.dial(t)
	p.Session = p.register(t, ipc.RegisterRequest{Name: "big"})
	c, err := m.tryDial(m.Keys, ipc.DialOptions{MaxFrame: 4 * max})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Broker().MaxFrame; got != max {
		t.Errorf("the broker says its frame limit is %d, want %d", got, max)
	}
	c.register(t, ipc.RegisterRequest{Name: "sender"})
	err = c.call(ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "big", Content: strings.Repeat("y", 2*max)}}, nil)
	e := wantCode(t, err, ipcmesh.CodeTooLarge)
	wantMention(t, e.Message, fmt.Sprint(max), "the broker's", "IPC_MAX_FRAME_BYTES")
	c.send(t, "big", "small is fine")
	if msgs := p.check(t); len(msgs) != 1 || msgs[0].Content != "small is fine" {
		t.Fatalf("big has %+v, want only the small message", msgs)
	}
}

// A body that is valid JSON but not what the op wants is bad_request, and
// the JSON error says where.
func TestBodyTypeErrors(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "typed")
	for _, op := range []string{ipc.OpRegister, ipc.OpResume, ipc.OpSend, ipc.OpBroadcast, ipc.OpCheck, ipc.OpAck, ipc.OpFetch, ipc.OpRename} {
		err := p.call(op, json.RawMessage(`"a string"`), nil)
		e := wantCode(t, err, ipcmesh.CodeBadRequest)
		wantMention(t, e.Message, op+":")
	}
}

// Ids made one after another sort one after another, and never repeat.
func TestNewIDsAreOrderedAndUnique(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for range 10000 {
		id := ipc.NewID()
		if err := ipc.ValidateID("id", id); err != nil || len(id) != 32 {
			t.Fatalf("NewID() = %q: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
		if id[:16] < prev[:min(len(prev), 16)] {
			t.Fatalf("%q sorts before the id made before it, %q", id, prev)
		}
		prev = id
	}
}

func TestSendResultFate(t *testing.T) {
	post := ipcmesh.Message{ID: "x", To: "#dev", Channel: "dev"}
	mail := ipcmesh.Message{ID: "x", To: "bob"}
	cases := []struct {
		r    ipc.SendResult
		want ipc.Fate
	}{
		{ipc.SendResult{Message: mail, Online: true}, ipc.Delivered},
		{ipc.SendResult{Message: mail}, ipc.Stored},
		{ipc.SendResult{Message: mail, Queued: true}, ipc.Queued},
		{ipc.SendResult{Message: post, Members: 2, Online: true}, ipc.Posted},
		{ipc.SendResult{Message: post, Members: 2}, ipc.PostedQuiet},
		{ipc.SendResult{Message: post}, ipc.PostedNobody},
		// A forwarded message is still delivered or stored.
		{ipc.SendResult{Message: mail, Forwarded: true, Online: true}, ipc.Delivered},
	}
	for _, tc := range cases {
		if got := tc.r.Fate(); got != tc.want {
			t.Errorf("%+v: Fate() = %d, want %d", tc.r, got, tc.want)
		}
	}
}

// TestBadIDNamesTheCharacter: an id with a character beyond ASCII is
// refused naming that character, not its first byte: U+202E was quoted
// as 'â', which is nowhere in what the sender wrote. An id cut for the
// message is cut between characters.
func TestBadIDNamesTheCharacter(t *testing.T) {
	m := startMesh(t, nil)
	p := m.join(t, "alice")
	m.join(t, "bob")

	err := p.call(ipc.OpSend, ipc.SendRequest{ID: "abcdefgh\u202eabc", Outgoing: ipc.Outgoing{To: "bob", Content: "x"}}, nil)
	e := wantCode(t, err, ipcmesh.CodeBadRequest)
	wantMention(t, e.Message, `'\u202e'`, "U+202E", "not ASCII")
	if strings.Contains(e.Message, "â") {
		t.Errorf("message %q quotes a byte of the character as a letter", e.Message)
	}

	long := strings.Repeat("a", 69) + "é" + strings.Repeat("b", 10)
	err = p.call(ipc.OpSend, ipc.SendRequest{ID: long, Outgoing: ipc.Outgoing{To: "bob", Content: "x"}}, nil)
	e = wantCode(t, err, ipcmesh.CodeBadRequest)
	if strings.Contains(e.Message, `\xc3`) {
		t.Errorf("message %q cuts a character of the id in two", e.Message)
	}
}
