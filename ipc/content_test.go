package ipc_test

import (
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
