package ipc_test

import (
	"fmt"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
)

// TestBlankContentRefused: a message with no text in it, only spaces,
// tabs or line breaks, is refused as an empty one is, by the broker, so
// that every face (the command line, the MCP tools, the HTTP face) refuses
// it alike: a direct message, a post and a broadcast. Nothing is stored.
func TestBlankContentRefused(t *testing.T) {
	m := startMesh(t, nil)
	reviewer := m.join(t, "reviewer")
	builder := m.join(t, "builder")
	builder.must(t, ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "ops", Members: []string{"reviewer"}}, nil)
	for _, c := range []struct {
		op   string
		req  any
		want string
	}{
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reviewer", Content: "   "}}, `the message to "reviewer" holds only whitespace (3 bytes`},
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reviewer", Content: "\n\n"}}, "holds only whitespace (2 bytes"},
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "reviewer"}}, `the message to "reviewer" is empty`},
		{ipc.OpSend, ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "#ops", Content: " \t\r\n"}}, "the post to #ops holds only whitespace"},
		{ipc.OpBroadcast, ipc.BroadcastRequest{ID: ipc.NewID(), Content: "\n"}, "the broadcast holds only whitespace"},
	} {
		e := wantCode(t, builder.call(c.op, c.req, nil), ipcmesh.CodeBadRequest)
		wantMention(t, e.Message, c.want, "give it some content")
	}
	if got := reviewer.check(t); len(got) != 0 {
		t.Errorf("reviewer got %d messages after the refusals, want none: %+v", len(got), got)
	}
}

// A body that is not UTF-8 is refused, as the other faces refuse it, not
// stored with its bad bytes replaced by U+FFFD: a client of another
// language that sends raw bytes would be told "ok" for content that
// arrives changed. Nothing is stored, and the connection goes on.
func TestBodyNotUTF8Refused(t *testing.T) {
	m := startMesh(t, nil)
	reviewer := m.join(t, "reviewer")
	r := m.rawAuthed(t)
	if f := r.call(ipc.OpRegister, ipc.RegisterRequest{Name: "builder"}); f.Error != nil {
		t.Fatalf("register: %v", f.Error)
	}
	for i, body := range []string{
		`{"id":"0123456789abcdef","to":"reviewer","content":"ab` + "\xff\xfe" + `cd"}`,
		`{"id":"0123456789abcdeg","content":"latin-1 caf` + "\xe9" + `"}`,
		`{"key":"notes","content":"` + "\xc3" + `"}`,
	} {
		op := []string{ipc.OpSend, ipc.OpBroadcast, ipc.OpShare}[i]
		id := uint64(100 + i)
		r.writePayload([]byte(fmt.Sprintf(`{"id":%d,"op":%q,"body":%s}`, id, op, body)))
		f := r.reply(id)
		if f.Error == nil {
			t.Errorf("%s of a body that is not UTF-8 was taken: %s", op, f.Body)
			continue
		}
		e := wantCode(t, f.Error, ipcmesh.CodeBadRequest)
		wantMention(t, e.Message, op+":", "UTF-8", "0x")
	}
	if got := reviewer.check(t); len(got) != 0 {
		t.Errorf("reviewer got %d messages after the refusals, want none: %+v", len(got), got)
	}
	if f := r.call(ipc.OpStatus, nil); f.Error != nil {
		t.Fatalf("status afterwards: %v", f.Error)
	}
}
