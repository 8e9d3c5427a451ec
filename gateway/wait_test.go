package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// awaitWaiters waits until n checks of name wait at the face, and checks
// that the broker holds none: the face waits for the push.
func (f *face) awaitWaiters(name string, n int) {
	f.t.Helper()
	sess := f.session(name)
	testbin.Eventually(f.t, 10*time.Second, "the check to wait at the face", func() bool {
		f.srv.sessions.mu.Lock()
		defer f.srv.sessions.mu.Unlock()
		return len(sess.waiters) == n
	})
	st, err := f.ctl.Status(ctxT(f.t))
	if err != nil {
		f.t.Fatal(err)
	}
	if st.Waiting != 0 {
		f.t.Errorf("the broker holds %d waiting checks; want none: the face waits for the push", st.Waiting)
	}
}

// TestWaitingCheckWokenByPush: a REST check that waits is held by the
// face, not the broker, and returns as soon as mail is pushed.
func TestWaitingCheckWokenByPush(t *testing.T) { forEachLink(t, testWaitingCheckWokenByPush) }

func testWaitingCheckWokenByPush(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	bob := f.peer("bob")

	type result struct {
		msgs checked
		err  error
	}
	got := make(chan result, 1)
	go func() {
		var r checked
		err := f.client(key).Call(ctxT(t), "GET", "/api/v1/messages?wait=60s", nil, &r)
		got <- result{r, err}
	}()
	f.awaitWaiters("alice", 1)
	if _, err := bob.Send(ctxT(t), "alice", "wake up"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil {
			t.Fatal(r.err)
		}
		if len(r.msgs.Messages) != 1 || r.msgs.Messages[0].Content != "wake up" || r.msgs.Messages[0].From != "bob" {
			t.Errorf("the waiting check returned %+v; want bob's message", r.msgs)
		}
	case <-ctxT(t).Done():
		t.Fatal("the waiting check did not return once mail arrived")
	}
	// The message stays unread until acked, as after any check.
	var again checked
	f.ok(req{method: "GET", path: "/api/v1/messages", key: key}, 200, &again)
	if len(again.Messages) != 1 {
		t.Errorf("after the waiting check, a check shows %d messages; want the one still unread", len(again.Messages))
	}
}

// TestMCPWaitingCheckWokenByPush: the MCP check tool's wait_seconds over
// /mcp waits the same way.
func TestMCPWaitingCheckWokenByPush(t *testing.T) { forEachLink(t, testMCPWaitingCheckWokenByPush) }

func testMCPWaitingCheckWokenByPush(t *testing.T, link func(*Options)) {
	f := newFace(t, link)
	bob := f.peer("bob")
	key := f.key("alice")
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key), MaxRetries: -1}, "")
	type result struct {
		res *mcp.CallToolResult
		err error
	}
	got := make(chan result, 1)
	go func() {
		res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 60}})
		got <- result{res, err}
	}()
	f.awaitWaiters("alice", 1)
	if _, err := bob.Send(ctxT(t), "alice", "wake up"); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil || r.res.IsError || !strings.Contains(toolText(r.res), "wake up") {
			t.Errorf("the waiting check: %v %q; want bob's message", r.err, toolText(r.res))
		}
	case <-ctxT(t).Done():
		t.Fatal("the waiting check did not return once mail arrived")
	}
}

// checked is the JSON of GET /api/v1/messages.
type checked struct {
	Messages []struct {
		ID, From, Content string
	} `json:"messages"`
}

// TestWaitParameter: a wait given in seconds is read as a person means
// it. One past what time.Duration holds is the longest wait, as 600s is,
// not a negative one (the conversion's result on amd64); one that is not
// a number, or is below 0, is a bad_request naming the parameter. Mail is
// unread, so a wait that is taken returns at once.
func TestWaitParameter(t *testing.T) {
	f := newFace(t, nil)
	key := f.key("alice")
	f.ok(req{method: "POST", path: "/api/v1/register", key: key}, 200, nil)
	if _, err := f.peer("bob").Send(ctxT(t), "alice", "unread"); err != nil {
		t.Fatal(err)
	}
	for _, wait := range []string{"1e300", "Infinity", "600", "0.5", "2m"} {
		var r ipc.CheckResult
		f.ok(req{method: "GET", path: "/api/v1/messages?wait=" + wait, key: key}, 200, &r)
		if len(r.Messages) != 1 {
			t.Errorf("wait=%s: %d messages, want the one unread", wait, len(r.Messages))
		}
	}
	for _, c := range []struct{ wait, want string }{
		{"NaN", "a duration such as 30s"},
		{"soon", "a duration such as 30s"},
		{"-1", "at least 0"},
		{"-1e300", "at least 0"},
		{"-2s", "at least 0"},
	} {
		e := f.fails(req{method: "GET", path: "/api/v1/messages?wait=" + c.wait, key: key}, 400, "bad_request")
		if !strings.Contains(e.Error.Message, "wait=") || !strings.Contains(e.Error.Message, c.want) {
			t.Errorf("wait=%s: %q, want it to name the parameter and say %q", c.wait, e.Error.Message, c.want)
		}
	}
}
