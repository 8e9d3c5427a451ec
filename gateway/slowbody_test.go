package gateway

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// slowPost sends the headers of a POST to path with a body of 1000 bytes
// and then only the first bytes of it, over a connection of its own, and
// returns the face's answer. The connection's own deadline is the test's
// bound, not what it checks: a face that waits for the rest for ever
// fails there.
func slowPost(t *testing.T, f *face, path, key, start string) (*http.Response, []byte, net.Conn) {
	t.Helper()
	u, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	head := "POST " + path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n"
	if key != "" {
		head += "Authorization: Bearer " + key + "\r\n"
	}
	if _, err := io.WriteString(c, head+"\r\n"+start); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("POST %s with a body that stops: no answer: %v", path, err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read the answer: %v", path, err)
	}
	return resp, b, c
}

// TestSlowBodies checks that a body that stops coming does not hold the
// face's connection for ever, with a key or without, that what was sent
// of it is not sent on, and that the deadline on a body ends with it.
func TestSlowBodies(t *testing.T) {
	f := newFace(t, nil)
	f.srv.bodyGrace = 100 * time.Millisecond
	key := f.key("alice")
	bob := f.peer("bob")

	// Without a key: the face refuses it, having read what came.
	resp, b, c := slowPost(t, f, "/api/v1/messages", "", `{"to": "bob", "content": "x`)
	if resp.StatusCode != 401 {
		t.Errorf("no key, a body that stops: %d %s, want 401", resp.StatusCode, b)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil {
		t.Errorf("the connection stays open after a body that stopped (read %d bytes)", n)
	}

	// With a key: 408, and nothing is sent.
	resp, b, _ = slowPost(t, f, "/api/v1/messages", key, `{"to": "bob", "content": "half a mess`)
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || resp.StatusCode != 408 || e.Error.Code != "bad_request" || !strings.Contains(e.Error.Message, "did not arrive in time") {
		t.Errorf("a body that stops: %d %s, want 408 saying the body did not arrive in time", resp.StatusCode, b)
	}
	if r, err := bob.Check(ctxT(t), 10, 0); err != nil || len(r.Messages) != 0 {
		t.Errorf("bob's inbox after a body that stopped: %+v, %v; want nothing", r.Messages, err)
	}

	// A request whose body came whole runs as long as it asks: an MCP
	// check waiting for mail well past the body's deadline ends with its
	// answer, not cut off by the deadline.
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: f.url + "/mcp", HTTPClient: withKey(key)}, "")
	res, err := cs.CallTool(ctxT(t), &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 1}})
	if err != nil || res.IsError {
		t.Fatalf("a check waiting past the body's deadline: %v %+v", err, res)
	}
	if text := toolText(res); !strings.Contains(text, "No") && !strings.Contains(text, "no") {
		t.Errorf("the waiting check answered %q, want no mail", text)
	}
}

// TestSlowBodyWithoutAKeyClosedAtOnce checks that a request refused
// before its body was read (no key, a key that does not check out, a
// key over its rate) is answered at once and its connection closed,
// without waiting for the rest of a body nobody will read: the server
// waited for it until the body's deadline, so that anyone, with no key,
// held a connection for 30 seconds a request, and got no answer.
func TestSlowBodyWithoutAKeyClosedAtOnce(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 0.001, 1 })
	f.srv.bodyGrace = time.Hour
	spent := f.key("alice")
	f.ok(req{method: "GET", path: "/api/v1/me", key: spent}, 200, nil) // its one request
	// A made-up key is refused with 401, and with 429 once the address
	// has sent too many.
	for _, key := range []string{"", "ipk1_0123456789abcdef_0123456789abcdef0123456789abcdef", spent} {
		for _, path := range []string{"/api/v1/messages", "/mcp", "/sse?sessionid=x"} {
			resp, _, c := slowPost(t, f, path, key, `{"to": "bob", "content": "x`)
			if resp.StatusCode != 401 && resp.StatusCode != 429 || key == spent && resp.StatusCode != 429 {
				t.Errorf("POST %s with key %q: %d, want 401 or 429", path, key, resp.StatusCode)
			}
			var ne net.Error
			if _, err := c.Read(make([]byte, 1)); errors.As(err, &ne) && ne.Timeout() {
				t.Errorf("POST %s with key %q: the connection stays open after the refusal, waiting for the body", path, key)
			}
		}
	}
}
