package gateway

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// postRound posts one message from each of peers to #room at once, so
// that the broker commits them together and pushes them in whatever order
// their senders' goroutines run, and returns their texts.
func postRound(t *testing.T, peers []*election.Peer, round int) []string {
	t.Helper()
	texts := make([]string, len(peers))
	errs := make([]error, len(peers))
	var wg sync.WaitGroup
	for i, p := range peers {
		texts[i] = fmt.Sprintf("post %d of round %d", i, round)
		wg.Go(func() { _, errs[i] = p.Send(ctxT(t), "#room", texts[i]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return texts
}

// posters joins n peers that post to a public channel #room, made by the
// reader with key.
func (f *face) posters(key string, n int) []*election.Peer {
	f.t.Helper()
	f.ok(req{method: "POST", path: "/api/v1/channels", key: key, body: map[string]any{"name": "room"}}, 201, nil)
	peers := make([]*election.Peer, n)
	for i := range peers {
		peers[i] = f.peer(fmt.Sprintf("poster%d", i))
	}
	return peers
}

// TestWaitingCheckAnswersOldestFirst: the posts of one commit are pushed
// to the face in any order. A waiting check that answered with the posts
// pushed so far answered a later post without an earlier one of the same
// commit, and the reader's ack of it moved its cursor in the channel past
// the earlier post, which it then never read. The answer of a waiting
// check is the oldest unread mail, as any check's is: a check right after
// it, with nothing acked between, begins with the same messages.
func TestWaitingCheckAnswersOldestFirst(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 1e6, 1<<20 })
	key := f.key("reader")
	peers := f.posters(key, 16)
	c := f.client(key)
	for round := range 300 {
		type result struct {
			r   checked
			err error
		}
		got := make(chan result, 1)
		go func() {
			var r checked
			err := c.Call(ctxT(t), "GET", "/api/v1/messages?wait=20s&limit=100", nil, &r)
			got <- result{r, err}
		}()
		f.awaitWaiters("reader", 1)
		postRound(t, peers, round)
		var waited result
		select {
		case waited = <-got:
		case <-ctxT(t).Done():
			t.Fatal("the waiting check did not return once posts arrived")
		}
		if waited.err != nil {
			t.Fatal(waited.err)
		}
		var all checked
		f.ok(req{method: "GET", path: "/api/v1/messages?limit=100", key: key}, 200, &all)
		if len(all.Messages) != len(peers) {
			t.Fatalf("round %d: %d posts unread, want %d", round, len(all.Messages), len(peers))
		}
		if len(waited.r.Messages) == 0 {
			t.Fatalf("round %d: the waiting check returned no posts", round)
		}
		for i, m := range waited.r.Messages {
			if m.ID != all.Messages[i].ID {
				t.Fatalf("round %d: the waiting check answered %s, but the oldest unread posts are %s: an ack of its answer passes over the posts before it",
					round, texts(waited.r), texts(all))
			}
		}
		ids := make([]string, len(all.Messages))
		for i, m := range all.Messages {
			ids[i] = m.ID
		}
		f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: key, body: map[string]any{"ids": ids}}, 200, nil)
	}
}

func texts(c checked) string {
	s := make([]string, len(c.Messages))
	for i, m := range c.Messages {
		s[i] = fmt.Sprintf("%q", m.Content)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// TestMCPWaitingCheckLosesNoPost: the MCP check tool marks what it shows
// read, so over /mcp a waiting check that showed a later post of a commit
// before an earlier one lost the earlier post for good. Every post comes
// in one check or another.
func TestMCPWaitingCheckLosesNoPost(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 1e6, 1<<20 })
	key := f.key("reader")
	peers := f.posters(key, 16)
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key), MaxRetries: -1}, "")
	check := func(ctx context.Context, wait int) string {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": wait}})
		if err != nil {
			return "error: " + err.Error()
		}
		if res.IsError {
			return "error result: " + toolText(res)
		}
		return toolText(res)
	}
	var shown strings.Builder
	var sent []string
	for round := range 300 {
		got := make(chan string, 1)
		go func() { got <- check(ctxT(t), 20) }()
		f.awaitWaiters("reader", 1)
		sent = append(sent, postRound(t, peers, round)...)
		select {
		case s := <-got:
			shown.WriteString(s)
		case <-ctxT(t).Done():
			t.Fatal("the waiting check did not return once posts arrived")
		}
		// The rest of the round, if the waiting check showed only some.
		shown.WriteString(check(ctxT(t), 0))
	}
	var lost []string
	for _, s := range sent {
		if !strings.Contains(shown.String(), s+"\n") {
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		t.Errorf("%d of %d posts were never shown by a check, though marked read: %v", len(lost), len(sent), lost)
	}
}

// TestWaitingCheckSkipsMailSentAgain: a sender whose answer was lost
// sends the same message again with its Idempotency-Key, and the broker,
// which stores it once, pushes it again, in case the first push was lost
// with a broker. A waiting check that answered what was pushed gave the
// reader that message a second time, though it was read and acked. It
// answers only what is unread.
func TestWaitingCheckSkipsMailSentAgain(t *testing.T) {
	f := newFace(t, nil)
	alice, bob := f.key("alice"), f.key("bob")
	sendRead(f, alice, bob)
	type result struct {
		r   checked
		err error
	}
	waited := make(chan result, 1)
	go func() {
		var r checked
		err := f.client(bob).Call(ctxT(t), "GET", "/api/v1/messages?wait=20s", nil, &r)
		waited <- result{r, err}
	}()
	f.awaitWaiters("bob", 1)
	sendWithID(f, alice, "first-message", "read once") // the sender's retry: stored once, pushed again
	sendWithID(f, alice, "second-message", "new")
	w := <-waited
	if w.err != nil {
		t.Fatal(w.err)
	}
	if len(w.r.Messages) != 1 || w.r.Messages[0].ID != "second-message" {
		t.Errorf("the waiting check answered %s, want only the new message: the first was read and acked", texts(w.r))
	}
}

// sendWithID sends text from the key from to bob, as a message with id.
func sendWithID(f *face, from, id, text string) {
	f.t.Helper()
	f.ok(req{method: "POST", path: "/api/v1/messages", key: from, header: map[string]string{"Idempotency-Key": id},
		body: map[string]any{"to": "bob", "content": text}}, 201, nil)
}

// sendRead sends the message "first-message" from the key from to bob,
// whose key reads and acks it. The face's peer of bob begins with the
// read, after the message was pushed: it was not pushed the message.
func sendRead(f *face, from, bob string) {
	f.t.Helper()
	sendWithID(f, from, "first-message", "read once")
	var got checked
	f.ok(req{method: "GET", path: "/api/v1/messages", key: bob}, 200, &got)
	if len(got.Messages) != 1 {
		f.t.Fatalf("bob has %s, want the one message", texts(got))
	}
	f.ok(req{method: "POST", path: "/api/v1/messages/ack", key: bob, body: map[string]any{"ids": []string{"first-message"}}}, 200, nil)
}
