package gateway

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// bigShare shares a page's worth of control characters under "big" as
// owner: each is six bytes in JSON, so one get_shared answer is hundreds
// of KiB.
func bigShare(t *testing.T, f *face, owner string) {
	t.Helper()
	if _, err := f.peer(owner).Share(ctxT(t), "big", strings.Repeat("\x01", 64<<10), ""); err != nil {
		t.Fatal(err)
	}
}

// getBig is the JSON-RPC call of get_shared "big".
func getBig(id int) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_shared","arguments":{"key":"big"}}}`, id)
}

// usesOf is how many requests and streams use name's session.
func (f *face) usesOf(name string) int {
	sess := f.session(name)
	f.srv.sessions.mu.Lock()
	defer f.srv.sessions.mu.Unlock()
	return len(sess.uses)
}

// TestLegacySSEStreamWhoseClientStopsReading checks that an /sse stream
// whose client stops reading, while its connection stays up, ends. Every
// answer of the session goes out on that stream, and a write to it used
// to block for as long as TCP kept the connection: the stream, the
// session's calls and the name's use (the name stayed online) were held
// for ever, as the event stream's were (TestEventStreamWhoseClientStopsReading).
func TestLegacySSEStreamWhoseClientStopsReading(t *testing.T) {
	f := newFaceLimited(t, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	f.srv.streamWrite = stuckWrite
	key := f.key("alice")
	bigShare(t, f, "bob")

	br := slowGet(t, f, "/sse", key)
	var endpoint string
	for endpoint == "" {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read the stream's opening: %v", err)
		}
		if e, ok := strings.CutPrefix(line, "data: "); ok {
			endpoint = strings.TrimSpace(e)
		}
	}
	post := func(body string) int {
		resp, _ := f.do(req{method: "POST", path: endpoint, key: key, body: body})
		return resp.StatusCode
	}
	post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}`)
	post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	// From here on nothing is read from the stream: 20 answers of some
	// 384 KiB each are far more than the connection's buffers hold, so a
	// write blocks. Once the face has given up on the stream, the session
	// is gone and a post finds none. (Counting posts until one was
	// refused raced the face: they are answered 202 at once, and 200 of
	// them could pass before its write had waited its 200 ms.)
	for i := 1; i <= 20 && post(getBig(i)) == 202; i++ {
	}
	testbin.Eventually(t, 15*time.Second, "the stream whose client stopped reading to let go of alice", func() bool {
		return f.usesOf("alice") == 0
	})
	if code := post(getBig(21)); code == 202 {
		t.Fatalf("a post to the session of a stream whose client stopped reading was taken (%d): the stream still runs", code)
	}
}

// TestMCPAnswerWhoseClientStopsReading checks the same of an answer on
// /mcp: a call whose client reads nothing of it ends, and with it the
// request and the name's use.
func TestMCPAnswerWhoseClientStopsReading(t *testing.T) {
	f := newFace(t, nil)
	f.srv.streamWrite = stuckWrite
	key := f.key("alice")
	bigShare(t, f, "bob")

	var batch []string
	for i := range 20 {
		batch = append(batch, getBig(i))
	}
	body := "[" + strings.Join(batch, ",") + "]"
	br := slowRequest(t, f, "POST /mcp", key,
		"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-03-26\r\n"+
			fmt.Sprintf("Content-Length: %d\r\n", len(body)), body)
	if line, err := br.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("the call's answer begins %q, %v", line, err)
	}
	// Nothing more is read: the request must end all the same.
	testbin.Eventually(t, 15*time.Second, "the call whose client stopped reading to end", func() bool {
		return f.usesOf("alice") == 0
	})
}

// TestMCPOverHTTP2OutlivesTheWriteDeadline checks that a call answered
// after more than the write deadline, and an /sse stream idle for longer,
// still work over HTTP/2, as a face with TLS serves them. There a write
// deadline resets the stream when it passes, written to or not, so one
// left set after a write ended a waiting check and an idle stream.
func TestMCPOverHTTP2OutlivesTheWriteDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFace(t, func(o *Options) { o.AllowHosts = []string{ln.Addr().String()} })
	f.srv.streamWrite = stuckWrite
	key := f.key("alice")
	bob := f.peer("bob")
	ts := f.serveTLS(ln)
	hc := ts.Client()
	hc.Transport = bearer{key: key, base: hc.Transport}

	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: ts.URL + "/mcp", HTTPClient: hc}, "")
	waited := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 30},
			Meta: mcp.Meta{"progressToken": "wait"}})
		if err != nil {
			t.Errorf("a waiting check over HTTP/2: %v", err)
		}
		waited <- res
	}()
	f.awaitWaiters("alice", 1)
	// The check has written its start. What is tested is time passing
	// beyond that write's deadline: there is no event to wait for.
	time.Sleep(2 * f.srv.streamWrite)
	if _, err := bob.Send(ctxT(t), "alice", "over h2"); err != nil {
		t.Fatal(err)
	}
	if res := <-waited; res == nil || !strings.Contains(toolText(res), "over h2") {
		t.Fatalf("the waiting check answered %+v", res)
	}

	// An /sse session quiet for longer than a write may take.
	sse := connect(t, &mcp.SSEClientTransport{Endpoint: ts.URL + "/sse", HTTPClient: hc}, "2024-11-05")
	if _, err := sse.ListTools(ctxT(t), nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * f.srv.streamWrite)
	if _, err := sse.ListTools(ctxT(t), nil); err != nil {
		t.Fatalf("an /sse session over HTTP/2, quiet for a while: %v", err)
	}
}
