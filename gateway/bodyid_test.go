package gateway

import (
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// A ChatGPT action sends no header but the key, so a send's or a
// broadcast's id may come in its body: the same request made again with
// it is stored and delivered once, as with the Idempotency-Key header.
// Given both, they must agree.
func TestRESTIDInTheBody(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("gpt")
	bob := f.peer("bob")

	send := req{method: "POST", path: "/api/v1/messages", key: key, body: map[string]string{"to": "bob", "content": "once", "id": "gpt-send-0001"}}
	var first, again ipc.SendResult
	f.ok(send, 201, &first)
	f.ok(send, 201, &again)
	if first.Message.ID != "gpt-send-0001" || first.Duplicate || !again.Duplicate {
		t.Fatalf("a send with an id in its body, made twice: %+v, then %+v; want the id kept and the second a duplicate", first, again)
	}
	bc := req{method: "POST", path: "/api/v1/broadcast", key: key, body: map[string]string{"content": "all", "id": "gpt-bcast-0001"}}
	var r ipc.BroadcastResult
	f.ok(bc, 200, &r)
	f.ok(bc, 200, &r)
	got, err := bob.Check(ctxT(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 || got.Messages[0].Content != "once" || got.Messages[1].ID != "gpt-bcast-0001.bob" {
		t.Fatalf("bob's inbox after each was made twice = %+v; want the send and the broadcast once each", got.Messages)
	}

	send.header = map[string]string{"Idempotency-Key": "gpt-send-0002"}
	if e := f.fails(send, 400, "bad_request"); !strings.Contains(e.Error.Message, "differ") {
		t.Errorf("a header and a body id that differ: %q; want it to say they differ", e.Error.Message)
	}
	send.header = map[string]string{"Idempotency-Key": "gpt-send-0001"}
	f.ok(send, 201, &again) // the same id twice is the id
	send.header = nil
	send.body = map[string]string{"to": "bob", "content": "x", "id": "bad id!"}
	if e := f.fails(send, 400, "bad_request"); !strings.Contains(e.Error.Message, "the body's id") {
		t.Errorf("a bad id in the body: %q; want it named", e.Error.Message)
	}
	// The body's fields are named as they are sent, those of the message
	// and the id alike.
	send.body = `{"to": "bob", "content": "x", "from": "mallory"}`
	if e := f.fails(send, 400, "bad_request"); !strings.Contains(e.Error.Message, `"content"`) || !strings.Contains(e.Error.Message, `"id"`) {
		t.Errorf("an unknown field: %q; want the fields a send takes listed", e.Error.Message)
	}
	send.body = `{"to": "bob", "content": 7}`
	if e := f.fails(send, 400, "bad_request"); !strings.Contains(e.Error.Message, `field "content"`) {
		t.Errorf("a field of the wrong type: %q; want it named as sent", e.Error.Message)
	}
}
