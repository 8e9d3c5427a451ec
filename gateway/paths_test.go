package gateway

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// A large message is spilled to a file in the data folder of the mesh's
// machine. A key holder, on another machine as often as not, opens no
// file there: no REST answer nor event names the file, so none shows the
// face's data folder (and in it the user name of whoever runs the face).
// Each answer is checked to hold the large message, so that the check of
// its path cannot pass for want of one.
func TestLargeMessagePathNotShown(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("reader")
	st := f.events("/api/v1/events", key)
	if ev := st.nextEvent(); ev.name != "ready" {
		t.Fatalf("first event %q, want ready", ev.name)
	}
	alice := f.peer("alice")
	big := strings.Repeat("a large line of text\n", 2000) // 42 KB, over the 10 KB spill size
	sent, err := alice.Send(ctxT(t), "reader", big)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	if !sent.Message.Large || sent.Message.Path == "" {
		t.Fatalf("the message was not spilled to a file (large %v, path %q): the test shows nothing", sent.Message.Large, sent.Message.Path)
	}
	id := sent.Message.ID

	// noPath fails if what holds the large message's JSON names its file.
	noPath := func(what string, body []byte) {
		t.Helper()
		if !strings.Contains(string(body), id) || !strings.Contains(string(body), `"large":true`) {
			t.Fatalf("%s does not hold the large message: %s", what, body)
		}
		if strings.Contains(string(body), `"path"`) || strings.Contains(string(body), f.cfg.DataDir) {
			t.Errorf("%s names the file on the mesh's machine: %.300s", what, body)
		}
	}

	ev := st.nextEvent()
	if ev.name != "message" {
		t.Fatalf("event %q, want message", ev.name)
	}
	noPath("the event", []byte(ev.data))

	for _, path := range []string{
		"/api/v1/messages",
		"/api/v1/messages/" + id,
		"/api/v1/history?with=alice",
		"/api/v1/threads/" + id,
		"/api/v1/search?from=alice",
	} {
		resp, body := f.do(req{method: "GET", path: path, key: key})
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		noPath("GET "+path, body)
	}

	// A reply, large too: the answer to its send, and the wait for it.
	resp, body := f.do(req{method: "POST", path: "/api/v1/messages", key: key,
		body: map[string]string{"to": "alice", "content": big, "reply_to": id}})
	if resp.StatusCode != 201 {
		t.Fatalf("POST /api/v1/messages: %d %s", resp.StatusCode, body)
	}
	var reply struct {
		Message struct {
			ID string `json:"id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		t.Fatalf("decode the send's answer %s: %v", body, err)
	}
	id = reply.Message.ID
	noPath("the send's answer", body)
	path := "/api/v1/threads/" + url.PathEscape(sent.Message.ID) + "/wait"
	resp, body = f.do(req{method: "GET", path: path, key: key})
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
	}
	noPath("GET "+path, body)
}
