package gateway

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func TestHealthAndPage(t *testing.T) {
	f := newFace(t, nil)
	var h healthResult
	f.ok(req{method: "GET", path: "/health"}, 200, &h)
	if h.Status != "ok" || h.Version != "test" {
		t.Errorf("health = %+v, want ok and version test", h)
	}
	resp, body := f.do(req{method: "GET", path: "/"})
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "<html") {
		t.Errorf("GET /: %d %s, want the page", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the page's Content-Security-Policy is %q", csp)
	}
	// The page's other files, beside it and under /static/.
	files, _ := fs.Glob(web(), "*.*")
	for _, name := range files {
		if name == "index.html" {
			continue
		}
		for _, path := range []string{"/" + name, "/static/" + name} {
			if resp, _ := f.do(req{method: "GET", path: path}); resp.StatusCode != 200 {
				t.Errorf("GET %s: %d", path, resp.StatusCode)
			}
		}
	}
	f.fails(req{method: "GET", path: "/no-such-file.js"}, 404, "not_found")
	f.fails(req{method: "GET", path: "/static/../gateway.go"}, 404, "not_found")
}

func TestKeys(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	me := req{method: "GET", path: "/api/v1/me"}

	resp, _ := f.do(me)
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no key: %d, WWW-Authenticate %q; want 401 with Bearer", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	f.fails(me, 401, "unauthorized")
	f.fails(req{method: "GET", path: "/api/v1/me", key: "not-a-key"}, 401, "unauthorized")
	forged := key[:len(key)-4] + "0000"
	if forged == key {
		forged = key[:len(key)-4] + "1111"
	}
	// The broker says what is wrong with a key, the face how to get one;
	// a forged key learns no name.
	if e := f.fails(req{method: "GET", path: "/api/v1/me", key: forged}, 401, "unauthorized"); !strings.Contains(e.Error.Message, "ipcmesh key create NAME") {
		t.Errorf("a forged key's error says %q; want it to say how to get a key", e.Error.Message)
	}
	f.fails(req{method: "GET", path: "/api/v1/me", header: map[string]string{"Authorization": "Basic " + key}}, 401, "unauthorized")

	var m meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &m)
	if m.Name != "alice" || m.Online {
		t.Errorf("me = %+v, want alice, offline (looking does not go online)", m)
	}
	// Once the face knows the key, the forged one of the same id is still
	// refused, and learns no name either.
	if e := f.fails(req{method: "GET", path: "/api/v1/me", key: forged}, 401, "unauthorized"); strings.Contains(e.Error.Message, "alice") {
		t.Errorf("a forged key of a known id is told %q", e.Error.Message)
	}
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &m)
	// The key in the path, for clients that cannot set a header.
	f.ok(req{method: "GET", path: "/k/" + key + "/api/v1/me"}, 200, &m)
	f.fails(req{method: "GET", path: "/k/" + key + "/api/v1/me", key: f.key("alice")}, 401, "unauthorized")
	f.fails(req{method: "GET", path: "/k/nope/api/v1/me"}, 401, "unauthorized")

	info, err := f.ctl.CheckKey(ctxT(t), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ctl.RevokeKeys(ctxT(t), info.ID, ""); err != nil {
		t.Fatal(err)
	}
	e := f.fails(req{method: "GET", path: "/api/v1/me", key: key}, 401, "unauthorized")
	if !strings.Contains(e.Error.Message, "revoked") {
		t.Errorf("a revoked key's error says %q; want it to say revoked", e.Error.Message)
	}
	if !strings.Contains(e.Error.Message, "ipcmesh key create alice") {
		t.Errorf("a revoked key's error says %q; want it to say how to get a new one", e.Error.Message)
	}
}

// A send's answer is the broker's own result passed on: it must read as
// the face's encoding of it would, HTML-safe escapes included, and carry
// the content intact.
func TestRESTSendAnswersTheBrokersResult(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	f.peer("bob")
	content := "<b>fish & chips</b> \"quoted\" caf\u00e9 \u2028 done"
	resp, body := f.do(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: content}})
	if resp.StatusCode != 201 {
		t.Fatalf("send: %d %s", resp.StatusCode, body)
	}
	var sent ipc.SendResult
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("send answered %s: %v", body, err)
	}
	if sent.Message.Content != content || sent.Message.To != "bob" || !sent.Online {
		t.Fatalf("send = %+v, want the content %q to bob, online", sent, content)
	}
	want, err := json.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSuffix(string(body), "\n"); got != string(want) {
		t.Errorf("send answered\n%s\nwant it as encoding/json writes it\n%s", got, want)
	}
}

// A send from a key's name to one of its former names is refused with
// the broker's words: the forward would bring it back to the sender.
// TestRESTSendToOwnName checks that a key's send to its own name is
// refused, as the MCP send tool and the command line refuse it: the
// message would only come back as mail from somebody else.
func TestRESTSendToOwnName(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "alice", Content: "note to self"}}, 400, "bad_request")
	if !containsAll(e.Error.Message, "acts as alice", "own inbox", "nothing was sent", "GET /api/v1/instances") {
		t.Errorf("the refusal says %q", e.Error.Message)
	}
	var inbox ipc.CheckResult
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &inbox)
	if len(inbox.Messages) != 0 {
		t.Errorf("alice's inbox = %+v, want nothing", inbox.Messages)
	}
}

func TestRESTSendToOwnFormerName(t *testing.T) {
	f := newFace(t, nil)
	ctx := ctxT(t)
	if _, err := f.peer("carol").Rename(ctx, "carol2"); err != nil {
		t.Fatal(err)
	}
	key := f.key("carol2")
	e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "carol", Content: "anyone there?"}}, 400, "bad_request")
	if !containsAll(e.Error.Message, "carol is your own former name (you are carol2 now)", "nothing was sent") {
		t.Errorf("the refusal says %q", e.Error.Message)
	}
	var inbox ipc.CheckResult
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &inbox)
	if len(inbox.Messages) != 0 {
		t.Errorf("carol2's inbox = %+v, want nothing", inbox.Messages)
	}
}

func TestRESTEndToEnd(t *testing.T) { forEachLink(t, testRESTEndToEnd) }

func testRESTEndToEnd(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	key := f.key("alice")
	bob := f.peer("bob")
	ctx := ctxT(t)

	var reg registerResult
	f.ok(req{method: "POST", path: "/api/v1/register", key: key, body: map[string]string{"description": "the face"}}, 200, &reg)
	if reg.Name != "alice" {
		t.Errorf("register = %+v", reg)
	}
	var me meResult
	f.ok(req{method: "GET", path: "/api/v1/me", key: key}, 200, &me)
	if !me.Online {
		t.Errorf("me after register = %+v, want online", me)
	}

	// Send, with an Idempotency-Key that makes a retry a duplicate.
	var sent ipc.SendResult
	send := req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "hello bob"},
		header: map[string]string{"Idempotency-Key": "retry-0123456789"}}
	f.ok(send, 201, &sent)
	if sent.Message.From != "alice" || sent.Message.To != "bob" || sent.Message.ID != "retry-0123456789" || !sent.Online {
		t.Errorf("send = %+v", sent)
	}
	f.ok(send, 201, &sent)
	if !sent.Duplicate {
		t.Errorf("a retried send is not a duplicate: %+v", sent)
	}
	if got, err := bob.Check(ctx, 0, 0); err != nil || len(got.Messages) != 1 || got.Messages[0].Content != "hello bob" {
		t.Fatalf("bob's inbox = %+v, %v; want the one message", got, err)
	}

	// Read, fetch and ack what bob sends; a waiting check gets it too.
	r1, err := bob.Send(ctx, "alice", "hello alice")
	if err != nil {
		t.Fatal(err)
	}
	var inbox ipc.CheckResult
	f.ok(req{method: "GET", path: "/api/v1/messages?limit=10", key: key}, 200, &inbox)
	if len(inbox.Messages) != 1 || inbox.Messages[0].ID != r1.Message.ID {
		t.Fatalf("inbox = %+v", inbox)
	}
	var fetched ipc.FetchResult
	f.ok(req{method: "GET", path: "/api/v1/messages/" + r1.Message.ID, key: key}, 200, &fetched)
	if fetched.Content != "hello alice" {
		t.Errorf("fetch = %+v", fetched)
	}
	var acked ipc.AckResult
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: []string{r1.Message.ID}}}, 200, &acked)
	if acked.Acked != 1 {
		t.Errorf("acked = %d", acked.Acked)
	}
	done := make(chan ipc.CheckResult, 1)
	go func() {
		var r ipc.CheckResult
		resp, b := f.do(req{method: "GET", path: "/api/v1/messages?wait=10s", key: key})
		if resp.StatusCode == 200 {
			json.Unmarshal(b, &r)
		}
		done <- r
	}()
	r2, err := bob.Send(ctx, "alice", "are you there?")
	if err != nil {
		t.Fatal(err)
	}
	if got := <-done; len(got.Messages) != 1 || got.Messages[0].ID != r2.Message.ID {
		t.Errorf("a waiting check got %+v, want %s", got, r2.Message.ID)
	}
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: ackBody{IDs: []string{r2.Message.ID}}}, 200, nil)

	var bc ipc.BroadcastResult
	f.ok(req{method: "POST", path: "/api/v1/broadcast", key: key, body: broadcastBody{Content: "all hands"}}, 200, &bc)
	if !slices.Contains(bc.Recipients, "bob") || slices.Contains(bc.Recipients, "alice") {
		t.Errorf("broadcast reached %v", bc.Recipients)
	}

	var list ipc.ListResult
	f.ok(req{method: "GET", path: "/api/v1/instances", key: key}, 200, &list)
	if names := instanceNames(list.Instances); !slices.Contains(names, "alice") || !slices.Contains(names, "bob") {
		t.Errorf("instances = %v", names)
	}

	// Channels.
	var created ipc.ChannelResult
	f.ok(req{method: "POST", path: "/api/v1/channels", key: key, body: ipc.ChannelCreateRequest{Name: "#Dev Talk", Description: "for devs"}}, 201, &created)
	if created.Channel.Name != "dev-talk" || !slices.Contains(created.Channel.Members, "alice") {
		t.Errorf("created %+v", created)
	}
	var chans ipc.ChannelListResult
	f.ok(req{method: "GET", path: "/api/v1/channels?q=devs", key: key}, 200, &chans)
	if len(chans.Channels) != 1 || chans.Channels[0].Name != "dev-talk" {
		t.Errorf("channels?q=devs = %+v", chans)
	}
	var left leftResult
	f.ok(req{method: "POST", path: "/api/v1/channels/dev-talk/leave", key: key}, 200, &left)
	if left.Left != "dev-talk" || left.NotMember {
		t.Errorf("left = %+v", left)
	}
	f.ok(req{method: "POST", path: "/api/v1/channels/dev-talk/leave", key: key}, 200, &left)
	if left.Left != "dev-talk" || !left.NotMember {
		t.Errorf("left a second time = %+v; want not_member: alice was no longer in it", left)
	}
	var joined channelOnly
	f.ok(req{method: "POST", path: "/api/v1/channels/dev-talk/join", key: key, body: joinBody{Members: []string{"bob"}}}, 200, &joined)
	if !slices.Contains(joined.Channel.Members, "alice") || !slices.Contains(joined.Channel.Members, "bob") {
		t.Errorf("joined = %+v", joined)
	}
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "#dev-talk", Content: "standup at ten"}}, 201, &sent)
	if sent.Channel != "dev-talk" || sent.Members != 1 {
		t.Errorf("channel post = %+v", sent)
	}

	// History of a channel and of a conversation, newest first.
	var chist, page1, page2 historyResult
	f.ok(req{method: "GET", path: "/api/v1/history?channel=dev-talk", key: key}, 200, &chist)
	if len(chist.Messages) != 1 || chist.Messages[0].Content != "standup at ten" {
		t.Errorf("channel history = %+v", chist)
	}
	// The conversation: hello bob, hello alice, are you there?, all hands.
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob&limit=2", key: key}, 200, &page1)
	if len(page1.Messages) != 2 || page1.Messages[0].Content != "all hands" || page1.Messages[1].ID != r2.Message.ID || !page1.More {
		t.Errorf("history with bob, 2 = %+v", page1)
	}
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob&before=" + strconv.FormatUint(page1.Messages[1].Seq, 10), key: key}, 200, &page2)
	if len(page2.Messages) != 2 || page2.Messages[0].ID != r1.Message.ID || page2.Messages[1].Content != "hello bob" || page2.More {
		t.Errorf("the next page = %+v", page2)
	}
	f.fails(req{method: "GET", path: "/api/v1/history", key: key}, 400, "bad_request")
	f.fails(req{method: "GET", path: "/api/v1/history?with=bob&limit=x", key: key}, 400, "bad_request")

	// A thread: alice asks, bob answers.
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "review PR 7?", Type: "request"}}, 201, &sent)
	ask := sent.Message.ID
	reply, err := bob.SendMessage(ctx, ipc.SendRequest{Outgoing: ipc.Outgoing{To: "alice", Content: "approved", Type: ipcmesh.TypeResponse, ReplyTo: ask}})
	if err != nil {
		t.Fatal(err)
	}
	var th threadResult
	f.ok(req{method: "GET", path: "/api/v1/threads/" + ask, key: key}, 200, &th)
	if len(th.Messages) != 2 || th.Messages[0].ID != ask || th.Messages[1].ID != reply.Message.ID || th.More {
		t.Errorf("thread = %+v", th)
	}
	// In pages: the first says more follow, the next reads on after it.
	f.ok(req{method: "GET", path: "/api/v1/threads/" + ask + "?limit=1", key: key}, 200, &th)
	if len(th.Messages) != 1 || th.Messages[0].ID != ask || !th.More {
		t.Errorf("thread's first page = %+v, want the request and more", th)
	}
	f.ok(req{method: "GET", path: fmt.Sprintf("/api/v1/threads/%s?limit=1&after=%d", ask, th.Messages[0].Seq), key: key}, 200, &th)
	if len(th.Messages) != 1 || th.Messages[0].ID != reply.Message.ID || th.More {
		t.Errorf("thread's next page = %+v, want the reply, no more", th)
	}
	f.fails(req{method: "GET", path: "/api/v1/threads/" + ask + "?after=x", key: key}, 400, "bad_request")
	var wr waitResult
	f.ok(req{method: "GET", path: "/api/v1/threads/" + ask + "/wait?wait=5s", key: key}, 200, &wr)
	if len(wr.Messages) != 1 || wr.Messages[0].ID != reply.Message.ID || wr.Last != reply.Message.Seq {
		t.Errorf("wait = %+v", wr)
	}
	f.fails(req{method: "GET", path: "/api/v1/threads/" + ask + "/wait?wait=soon", key: key}, 400, "bad_request")

	// Shared entries.
	var sh ipcmesh.Shared
	f.ok(req{method: "PUT", path: "/api/v1/shared/spec.v1", key: key, body: shareBody{Content: "the spec", Description: "v1"}}, 200, &sh)
	if sh.Key != "spec.v1" || sh.StoredBy != "alice" || sh.Size != len("the spec") || sh.Content != "" {
		t.Errorf("share = %+v", sh)
	}
	var shl ipc.ListSharedResult
	f.ok(req{method: "GET", path: "/api/v1/shared", key: key}, 200, &shl)
	if len(shl.Shared) != 1 || shl.Shared[0].Key != "spec.v1" {
		t.Errorf("shared = %+v", shl)
	}
	f.ok(req{method: "GET", path: "/api/v1/shared/spec.v1", key: key}, 200, &sh)
	if sh.Content != "the spec" {
		t.Errorf("get shared = %+v", sh)
	}
	f.fails(req{method: "GET", path: "/api/v1/shared/spec.v2", key: key}, 404, "not_found")

	// Search, and the status line.
	var found ipc.SearchResult
	f.ok(req{method: "GET", path: "/api/v1/search?q=approved&from=bob", key: key}, 200, &found)
	if len(found.Messages) != 1 || found.Messages[0].ID != reply.Message.ID {
		t.Errorf("search = %+v", found)
	}
	f.fails(req{method: "GET", path: "/api/v1/search?q=x&since=yesterday", key: key}, 400, "bad_request")
	var st statusResult
	f.ok(req{method: "PUT", path: "/api/v1/status", key: key, body: map[string]string{"status": "reviewing"}}, 200, &st)
	if st != (statusResult{Name: "alice", Status: "reviewing", Description: "the face"}) {
		t.Errorf("status = %+v, want the description kept", st)
	}
	f.ok(req{method: "PUT", path: "/api/v1/status", key: key, body: map[string]string{"description": "the face, v2"}}, 200, &st)
	if st != (statusResult{Name: "alice", Status: "reviewing", Description: "the face, v2"}) {
		t.Errorf("status = %+v, want the status line kept", st)
	}

	// Errors of the mesh and of the face.
	f.fails(req{method: "GET", path: "/api/v1/messages/0123456789abcdef", key: key}, 404, "not_found")
	f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bad name!", Content: "x"}}, 400, "invalid_name")
	f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "x"}, header: map[string]string{"Idempotency-Key": "short"}}, 400, "bad_request")
	f.fails(req{method: "GET", path: "/api/v1/nothing-here", key: key}, 404, "not_found")
	resp, _ := f.do(req{method: "DELETE", path: "/api/v1/me", key: key})
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("DELETE /api/v1/me: %d, Allow %q; want 405, GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

// TestRESTBroadcastIdempotencyKey checks that a broadcast sent again with
// the same Idempotency-Key reaches nobody twice, as a send does, and that
// the document says both take the header.
func TestRESTBroadcastIdempotencyKey(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	bob := f.peer("bob")
	bc := req{method: "POST", path: "/api/v1/broadcast", key: key, body: broadcastBody{Content: "hello all"},
		header: map[string]string{"Idempotency-Key": "bcast-0123456789"}}
	var r ipc.BroadcastResult
	f.ok(bc, 200, &r)
	if !slices.Equal(r.Recipients, []string{"bob"}) {
		t.Fatalf("broadcast = %+v, want it to reach bob", r)
	}
	// The answer to the retry says that bob had his copy already.
	var again ipc.BroadcastResult
	f.ok(bc, 200, &again)
	if !slices.Equal(again.Recipients, []string{"bob"}) || !slices.Equal(again.Duplicate, []string{"bob"}) {
		t.Errorf("the broadcast sent again = %+v, want bob in recipients and in duplicate", again)
	}
	got, err := bob.Check(ctxT(t), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || got.Messages[0].ID != "bcast-0123456789.bob" {
		t.Fatalf("bob's inbox after a retried broadcast = %+v; want the one copy", got.Messages)
	}
	bc.header = map[string]string{"Idempotency-Key": "bad key!"}
	f.fails(bc, 400, "bad_request")

	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
	}
	f.ok(req{method: "GET", path: "/openapi.json"}, 200, &doc)
	for _, path := range []string{"/api/v1/messages", "/api/v1/broadcast"} {
		found := false
		for _, p := range doc.Paths[path]["post"].Parameters {
			found = found || p.In == "header" && p.Name == "Idempotency-Key"
		}
		if !found {
			t.Errorf("POST %s does not document the Idempotency-Key header", path)
		}
	}
}

// TestRESTErrorsSayWhatToSend checks that an error's advice names what a
// REST client can send: the routes, not the mesh's wire ops, and the form
// of an Idempotency-Key, not a Go function.
func TestRESTErrorsSayWhatToSend(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	noOps := func(e apiError) {
		t.Helper()
		if strings.Contains(e.Error.Message, "channel_") {
			t.Errorf("the error names a wire op: %q", e.Error.Message)
		}
	}
	e := f.fails(req{method: "POST", path: "/api/v1/channels/nowhere/leave", key: key}, 404, "not_found")
	noOps(e)
	if !strings.Contains(e.Error.Message, "GET /api/v1/channels") || !strings.Contains(e.Error.Message, "POST /api/v1/channels") {
		t.Errorf("leaving an unknown channel says %q; want the routes that list and create channels", e.Error.Message)
	}
	create := req{method: "POST", path: "/api/v1/channels", key: key, body: ipc.ChannelCreateRequest{Name: "design"}}
	f.ok(create, 201, nil)
	e = f.fails(req{method: "POST", path: "/api/v1/channels/desing/leave", key: key}, 404, "not_found")
	noOps(e)
	if !strings.Contains(e.Error.Message, "#design") || !strings.Contains(e.Error.Message, "GET /api/v1/channels") {
		t.Errorf("leaving a misspelt channel says %q; want the near name and the route that lists channels", e.Error.Message)
	}
	// Another's create of the same name is refused, with the way to join.
	e = f.fails(req{method: "POST", path: "/api/v1/channels", key: f.key("carol"), body: ipc.ChannelCreateRequest{Name: "design"}}, 409, "name_taken")
	noOps(e)
	if !strings.Contains(e.Error.Message, "POST /api/v1/channels/NAME/join") {
		t.Errorf("creating a channel twice says %q; want the route that joins it", e.Error.Message)
	}

	for _, id := range []string{"short", "not valid!", strings.Repeat("x", 65)} {
		e = f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: ipc.Outgoing{To: "bob", Content: "x"},
			header: map[string]string{"Idempotency-Key": id}}, 400, "bad_request")
		if strings.Contains(e.Error.Message, "NewID") || !strings.Contains(e.Error.Message, "8 to 64 letters, digits, '_' or '-'") {
			t.Errorf("Idempotency-Key %q is told %q; want what the header takes", id, e.Error.Message)
		}
	}
}

// TestOthersConversations checks that a key reads only its own name's
// mail: a third party's history with bob holds only its own messages, and
// alice's messages are not found by carol.
// TestHistoryWithARenamedName: the conversation asked for by a name
// renamed since is the one with its new name, and the answer names it.
func TestHistoryWithARenamedName(t *testing.T) {
	f := newFace(t, nil)
	carol := f.key("carol")
	bob := f.peer("bob")
	f.ok(req{method: "POST", path: "/api/v1/messages", key: carol, body: ipc.Outgoing{To: "bob", Content: "hi bob"}}, 201, nil)
	if _, err := bob.Rename(ctxT(t), "robert"); err != nil {
		t.Fatal(err)
	}
	var hist historyResult
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob", key: carol}, 200, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].Content != "hi bob" || hist.With != "robert" {
		t.Errorf("carol's history with bob, renamed robert = %+v; want her message, with robert", hist)
	}
}

func TestOthersConversations(t *testing.T) {
	f := newFace(t, nil)
	alice, carol := f.key("alice"), f.key("carol")
	bob := f.peer("bob")
	ctx := ctxT(t)
	dm, err := bob.Send(ctx, "alice", "secret for alice")
	if err != nil {
		t.Fatal(err)
	}
	var sent ipc.SendResult
	f.ok(req{method: "POST", path: "/api/v1/messages", key: alice, body: ipc.Outgoing{To: "bob", Content: "thanks", ReplyTo: dm.Message.ID}}, 201, &sent)
	f.ok(req{method: "POST", path: "/api/v1/messages", key: carol, body: ipc.Outgoing{To: "bob", Content: "hi from carol"}}, 201, nil)

	var hist historyResult
	f.ok(req{method: "GET", path: "/api/v1/history?with=bob", key: carol}, 200, &hist)
	if len(hist.Messages) != 1 || hist.Messages[0].From != "carol" {
		t.Errorf("carol's history with bob = %+v, want only her own message", hist)
	}
	f.ok(req{method: "GET", path: "/api/v1/history?with=alice", key: carol}, 200, &hist)
	if len(hist.Messages) != 0 {
		t.Errorf("carol's history with alice = %+v, want none", hist)
	}
	f.fails(req{method: "GET", path: "/api/v1/threads/" + dm.Message.ID, key: carol}, 404, "not_found")
	f.fails(req{method: "GET", path: "/api/v1/messages/" + dm.Message.ID, key: carol}, 404, "not_found")
	var found ipc.SearchResult
	f.ok(req{method: "GET", path: "/api/v1/search?q=secret", key: carol}, 200, &found)
	if len(found.Messages) != 0 {
		t.Errorf("carol finds %+v", found.Messages)
	}
	var inbox ipc.CheckResult
	f.ok(req{method: "GET", path: "/api/v1/messages", key: carol}, 200, &inbox)
	if len(inbox.Messages) != 0 {
		t.Errorf("carol's inbox = %+v", inbox)
	}
	// alice, on the other hand, reads her thread.
	var th threadResult
	f.ok(req{method: "GET", path: "/api/v1/threads/" + dm.Message.ID, key: alice}, 200, &th)
	if len(th.Messages) != 2 {
		t.Errorf("alice's thread = %+v", th)
	}
}

func TestNameHeldElsewhere(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("dave")
	// dave is online from another user's data folder: the face holds no
	// token for the name and must not take it over.
	f.peerIn("dave", t.TempDir())
	e := f.fails(req{method: "POST", path: "/api/v1/register", key: key}, 409, "name_taken")
	if len(e.Error.Suggestions) == 0 {
		t.Errorf("name_taken without suggestions: %+v", e)
	}
	f.fails(req{method: "GET", path: "/api/v1/messages", key: key}, 409, "name_taken")
}

func TestBodies(t *testing.T) {
	f := newFace(t, func(o *Options) { o.MaxBody = 1024 })
	key := f.key("alice")
	post := func(body any) req {
		return req{method: "POST", path: "/api/v1/messages", key: key, body: body}
	}
	e := f.fails(post(ipc.Outgoing{To: "bob", Content: strings.Repeat("x", 2000)}), 413, "too_large")
	// Text under the limit can make a body over it: the answer says how.
	mcptest.Contains(t, "an oversized body", e.Error.Message, "over the limit of 1024 bytes", "as sent", "six bytes")
	// Without a Content-Length (chunked), the limit stops the read.
	chunked := struct{ io.Reader }{strings.NewReader(`{"content": "` + strings.Repeat("x", 2000) + `"}`)}
	f.fails(req{method: "PUT", path: "/api/v1/shared/big", key: key, body: chunked}, 413, "too_large")
	e = f.fails(post(`{"to": "bob", "content": "x"`), 400, "bad_request")
	if !strings.Contains(e.Error.Message, "JSON") {
		t.Errorf("truncated JSON: %q", e.Error.Message)
	}
	e = f.fails(post(`{"to": "bob", content: "x"}`), 400, "bad_request")
	if !strings.Contains(e.Error.Message, "not valid JSON") {
		t.Errorf("bad JSON: %q", e.Error.Message)
	}
	e = f.fails(post(`{"to": "bob", "content": "x", "from": "mallory"}`), 400, "bad_request")
	if !strings.Contains(e.Error.Message, `"from"`) {
		t.Errorf("unknown field: %q does not name it", e.Error.Message)
	}
	e = f.fails(post(`{"to": "bob", "content": 7}`), 400, "bad_request")
	if !strings.Contains(e.Error.Message, `"content"`) || !strings.Contains(e.Error.Message, "string") {
		t.Errorf("wrong type: %q", e.Error.Message)
	}
	f.fails(post(`["bob"]`), 400, "bad_request")
	f.fails(post(`{"to": "bob", "content": "x"} {}`), 400, "bad_request")
	f.fails(post(""), 400, "bad_request")
	// A body is optional where nothing is required.
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
}

func TestRateLimit(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 0.01, 2 })
	key := f.key("alice")
	me := req{method: "GET", path: "/api/v1/me", key: key}
	f.ok(me, 200, nil)
	f.ok(me, 200, nil)
	resp, _ := f.do(me)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d, Retry-After %q; want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	e := f.fails(me, 429, "rate_limited")
	if e.Error.RetryAfterMS <= 0 {
		t.Errorf("rate_limited without retry_after_ms: %+v", e)
	}
	// Another key has its own budget.
	f.ok(req{method: "GET", path: "/api/v1/me", key: f.key("alice")}, 200, nil)
}

// TestRateLimitedRoundsUp checks that a refusal asks for the whole wait:
// a client that comes back a fraction of a millisecond early is refused
// again.
func TestRateLimitedRoundsUp(t *testing.T) {
	for _, c := range []struct {
		wait time.Duration
		want int64
	}{
		{0, 1},
		{time.Microsecond, 1},
		{time.Millisecond, 1},
		{1700 * time.Microsecond, 2},
		{2 * time.Millisecond, 2},
		{time.Second + time.Nanosecond, 1001},
	} {
		e := rateLimited(c.wait, "testing")
		if e.RetryAfterMS != c.want || !strings.Contains(e.Message, fmt.Sprintf("retry in %d ms", c.want)) {
			t.Errorf("rateLimited(%v) = %d ms, %q; want %d ms", c.wait, e.RetryAfterMS, e.Message, c.want)
		}
	}
}

// TestBadKeysLockOutOnlyBadKeys spends an address's budget for keys that
// are not valid: further such keys from it are refused without a round
// trip to the broker, but a key the face knows to be valid still works,
// and so does one the mesh's list of keys shows to be.
// Behind a tunnel every client has the same address, so anyone could lock
// every key holder out otherwise.
func TestBadKeysLockOutOnlyBadKeys(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 0.01, 3 })
	key := f.key("alice")
	me := req{method: "GET", path: "/api/v1/me", key: key}
	f.ok(me, 200, nil)
	bob, carol := f.key("bob"), f.key("carol")
	if _, err := f.ctl.RevokeKeys(ctxT(t), "", "carol"); err != nil {
		t.Fatal(err)
	}

	bad := func(i int) req {
		return req{method: "GET", path: "/api/v1/me", key: fmt.Sprintf("ipk1_%016x_%032x", i, i)}
	}
	for i := range 3 {
		f.fails(bad(i), 401, "unauthorized")
	}
	e := f.fails(bad(3), 429, "rate_limited")
	if !strings.Contains(e.Error.Message, "not valid") {
		t.Errorf("a bad key after the budget is told %q", e.Error.Message)
	}
	f.ok(me, 200, nil)
	// A forged key of the known key's id is not valid either.
	forged := key[:len(key)-4] + "0000"
	if forged == key {
		forged = key[:len(key)-4] + "1111"
	}
	f.fails(req{method: "GET", path: "/api/v1/me", key: forged}, 429, "rate_limited")
	f.fails(bad(4), 429, "rate_limited")
	// A real key this face has not met yet (made elsewhere, or before
	// the face restarted) checks out against the mesh's list of keys; a
	// revoked one does not.
	f.ok(req{method: "GET", path: "/api/v1/me", key: bob}, 200, nil)
	f.fails(req{method: "GET", path: "/api/v1/me", key: carol}, 429, "rate_limited")
}

func instanceNames(list []ipcmesh.Instance) []string {
	var names []string
	for _, in := range list {
		names = append(names, in.Name)
	}
	return names
}

// TestFormBodySaysToSendJSON: a form (what curl -d sends without a
// Content-Type, to=bob&content=hi) is refused naming how it was sent and
// what to send instead, where the answer spoke only of an invalid
// character of JSON. JSON sent as a form is taken, as before.
func TestFormBodySaysToSendJSON(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	f.peer("bob")
	for _, ct := range []string{"application/x-www-form-urlencoded", "multipart/form-data; boundary=x"} {
		e := f.fails(req{method: "POST", path: "/api/v1/messages", key: key, body: "to=bob&content=hi",
			header: map[string]string{"Content-Type": ct}}, 400, "bad_request")
		mcptest.Contains(t, "a form sent as "+ct, e.Error.Message, "not valid JSON", strings.Split(ct, ";")[0], "Content-Type: application/json")
	}
	f.ok(req{method: "POST", path: "/api/v1/messages", key: key, body: `{"to":"bob","content":"hi"}`,
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 201, nil)
}
