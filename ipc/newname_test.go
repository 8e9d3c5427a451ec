package ipc_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// TestNoNewNameBeginsWithADash: a name beginning with '-' is taken for a
// flag by every command line, so none is made any more: register, rename
// and key_create refuse one with invalid_name, saying what to type, and a
// send to one is refused, naming the name likely meant, rather than
// queued for an instance that could never register; so is one as a
// channel's member. A name made before the rule keeps working: it is
// added to a channel, registered again and gets its mail.
func TestNoNewNameBeginsWithADash(t *testing.T) { forEachStore(t, testNoNewNameBeginsWithADash) }

func testNoNewNameBeginsWithADash(t *testing.T, kind storeKind) {
	m := startMeshOn(t, kind, nil)
	reviewer := m.join(t, "reviewer")
	p := m.dial(t)

	e := wantCode(t, p.call(ipc.OpRegister, ipc.RegisterRequest{Name: "-builder"}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `"-builder" begins with '-'`, "flag", "(builder, say)")
	e = wantCode(t, reviewer.call(ipc.OpRename, ipc.RenameRequest{RequestID: ipc.NewID(), NewName: "-reviewer"}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `"-reviewer" begins with '-'`)
	e = wantCode(t, reviewer.call(ipc.OpKeyCreate, ipc.KeyCreateRequest{Name: "-web"}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `"-web" begins with '-'`)

	sender := m.join(t, "builder")
	req := ipc.SendRequest{ID: ipc.NewID(), Outgoing: ipc.Outgoing{To: "-Reviewer", Content: "hi"}}
	e = wantCode(t, sender.call(ipc.OpSend, req, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `no instance is named "-Reviewer", and none can be`, "nothing was sent", "did you mean reviewer?")
	if !slices.Equal(e.Suggestions, []string{"reviewer"}) {
		t.Errorf("suggestions %v, want [reviewer]", e.Suggestions)
	}
	req.ID, req.To = ipc.NewID(), "--reviewer"
	e = wantCode(t, sender.call(ipc.OpSend, req, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, "did you mean reviewer?")

	e = wantCode(t, sender.call(ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "auth-dev", Members: []string{"reviewer", "-tester"}}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, "member", `"-tester" begins with '-'`, "(tester, say)")
	if err := sender.call(ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "auth-dev"}, nil); err != nil {
		t.Fatal(err)
	}
	e = wantCode(t, sender.call(ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "auth-dev", Members: []string{"-tester"}}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `"-tester" begins with '-'`)
	// Nor does a new channel's name: "#--help" is a flag without its '#',
	// and "#---" names nothing.
	e = wantCode(t, sender.call(ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "#--help"}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `channel name "--help" begins with '-'`, "(help, say)")
	e = wantCode(t, sender.call(ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "---"}, nil), ipcmesh.CodeInvalidName)
	wantMention(t, e.Message, `channel name "---" begins with '-'`)
	if strings.Contains(e.Message, "say)") {
		t.Errorf("%q offers a name made of nothing", e.Message)
	}
	if err := sender.call(ipc.OpChannelCreate, ipc.ChannelCreateRequest{Name: "ops-"}, nil); err != nil {
		t.Errorf("create #ops-: %v; a name may end with '-'", err)
	}

	// A name of the older rule, whose session has expired.
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	old := store.Session{Name: "-old", ID: "00112233445566778899aabbccddeeff", Expires: time.Now().Add(-time.Hour)}
	if err := m.Store.PutSession(ctx, old); err != nil {
		t.Fatal(err)
	}
	if r := sender.send(t, "-old", "still reaches you"); r.Queued {
		t.Errorf("a send to -old, an instance, was queued: %+v", r)
	}
	var joined ipc.ChannelResult
	if err := sender.call(ipc.OpChannelJoin, ipc.ChannelJoinRequest{Name: "auth-dev", Members: []string{"-old"}}, &joined); err != nil {
		t.Errorf("-old, an instance, added to a channel: %v", err)
	} else if !slices.Contains(joined.Channel.Members, "-old") {
		t.Errorf("members after -old joined: %v", joined.Channel.Members)
	}
	p.register(t, ipc.RegisterRequest{Name: "-old"})
	if got := p.check(t); len(got) != 1 || got[0].Content != "still reaches you" {
		t.Errorf("-old registered again has %+v, want the message sent to it", got)
	}
}
