package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/ipc"
)

// FuzzREST sends the face requests a client could send, made of arbitrary
// paths, query strings, bodies and idempotency keys, on the routes it
// serves and beside them, and checks what that client would see: never a
// 5xx, always an answer within seconds, a JSON answer under /api/v1, and
// an error that names its code and says what was wrong. After each, the
// face must still serve the key's name. The face and its mesh are made
// once per fuzzing process, so an input meets whatever the ones before it
// stored: a failure found while fuzzing may need its neighbours to show
// again. No Accept header is sent, so /mcp refuses a call before any tool
// runs (a tool's wait_seconds would hold an input for minutes): MCP is
// tested with the SDK's own client.
//
//	go test -run xxx -fuzz FuzzREST -fuzztime 60s ./gateway/
func FuzzREST(f *testing.F) {
	fc := newFaceLimited(f, ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}, func(o *Options) { o.Rate, o.Burst = 1e9, 1<<30 })
	key := fc.key("fuzzer")
	fc.peer("peer")
	routes := fc.srv.routes
	index := func(op string) uint8 {
		for i, rt := range routes {
			if rt.op == op {
				return uint8(i)
			}
		}
		f.Fatalf("no route %s", op)
		return 0
	}
	for _, s := range []struct {
		op          string
		p, q, body  string
		idempotency string
	}{
		{"sendMessage", "", "", `{"to":"peer","content":"hello"}`, ""},
		{"sendMessage", "", "", `{"to":"peer","content":"again","type":"request"}`, "retry-0001"},
		{"sendMessage", "", "", `{"to":"#general","content":"to a channel"}`, ""},
		{"sendMessage", "", "", `{"to":"peer","content":1}`, ""},
		{"sendMessage", "", "", `{"to":"peer","content":"x"}{"to":"peer"}`, ""},
		{"checkMessages", "", "limit=5&wait=1s", "", ""},
		{"checkMessages", "", "from=peer&wait=2", "", ""},
		{"ackMessages", "", "", `{"ids":["0123456789abcdef"]}`, ""},
		{"getMessage", "0123456789abcdef", "", "", ""},
		{"broadcast", "", "", `{"content":"all"}`, ""},
		{"createChannel", "", "", `{"name":"builders","description":"d","members":["peer"]}`, ""},
		{"joinChannel", "builders", "", "", ""},
		{"getHistory", "", "with=peer&limit=3&before=9", "", ""},
		{"getHistory", "", "channel=builders&since=2026-01-02", "", ""},
		{"getHistory", "", "with=peer&until=2026-01-01T00:00:00%2B24:00", "", ""},
		{"getHistory", "", "with=peer&since=0001-01-01&until=9999-12-31T23:59:59-23:59", "", ""},
		{"getThread", "0123456789abcdef", "", "", ""},
		{"waitForReply", "0123456789abcdef", "wait=1h", "", ""},
		{"putShared", "plan", "", `{"content":"step 1","description":"the plan"}`, ""},
		{"getShared", "plan", "", "", ""},
		{"searchMessages", "", "q=hello&from=peer&since=24h", "", ""},
		{"setStatus", "", "", `{"status":"building"}`, ""},
		{"register", "", "", "", ""},
	} {
		f.Add(index(s.op), s.p, s.q, []byte(s.body), s.idempotency)
	}
	// Beside the routes (sel past the table): a path of the input's own.
	f.Add(uint8(255), "api/v1/nothing", "", []byte(nil), "")
	f.Add(uint8(254), "api/v1/messages/../instances", "", []byte(nil), "")

	client := &http.Client{
		// A redirect is an answer to check, not one to follow: followed,
		// a path cleaned into /api/v1/events would open a stream.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// do sends req with the key and reads the answer whole; resp is nil
	// if there was none.
	do := func(req *http.Request) (resp *http.Response, body []byte, err error) {
		req.Header.Set("Authorization", "Bearer "+key)
		if resp, err = client.Do(req); err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err = io.ReadAll(resp.Body)
		return resp, body, err
	}
	f.Fuzz(func(t *testing.T, sel uint8, p, q string, body []byte, idempotency string) {
		method, target := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}[int(sel)%5], "/"+p
		if int(sel) < len(routes) {
			method, target = routes[sel].method, fillPath(routes[sel].path, p)
		}
		u, err := url.Parse(fc.url + target)
		if err != nil || u.Host != strings.TrimPrefix(fc.url, "http://") {
			return // not a request for the face
		}
		u.RawQuery = boundWait(q)
		if !validQuery(u.RawQuery) {
			return // not HTTP: net/http refuses the request line itself
		}
		clean := path.Clean("/" + u.Path)
		if clean == "/api/v1/events" || clean == "/sse" {
			return // streams: they answer for as long as the client listens
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		if idempotency != "" {
			req.Header.Set("Idempotency-Key", idempotency)
		}
		resp, b, err := do(req)
		switch {
		case err != nil && ctx.Err() != nil:
			t.Fatalf("%s %s: no answer in 10 s", method, u)
		case err != nil && resp == nil:
			return // a request Go's client refuses to send, such as a header with a newline
		case err != nil:
			t.Fatalf("%s %s: read the answer: %v", method, u, err)
		}
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %s with %q: status %d: %s", method, u, body, resp.StatusCode, b)
		}
		if strings.HasPrefix(clean, "/api/v1/") && resp.StatusCode/100 != 3 {
			checkJSONAnswer(t, method, u.String(), resp, b)
		}

		// The face still serves the name.
		me, err := http.NewRequestWithContext(ctx, "GET", fc.url+"/api/v1/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, b, err = do(me); err != nil {
			t.Fatalf("after %s %s: GET /api/v1/me: %v", method, u, err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %s %s: GET /api/v1/me: status %d: %s", method, u, resp.StatusCode, b)
		}
	})
}

// checkJSONAnswer wants a JSON answer, and for an error a code and a
// message.
func checkJSONAnswer(t *testing.T, method, u string, resp *http.Response, b []byte) {
	t.Helper()
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct != "application/json" {
		t.Fatalf("%s %s: status %d with Content-Type %q, want application/json: %s", method, u, resp.StatusCode, ct, b)
	}
	if !json.Valid(b) {
		t.Fatalf("%s %s: status %d: the answer is not JSON: %q", method, u, resp.StatusCode, b)
	}
	if resp.StatusCode < 400 {
		return
	}
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s %s: status %d: want an error with a code and a message, got %s", method, u, resp.StatusCode, b)
	}
}

// validQuery reports whether q may stand in a request line as it is: Go's
// client sends a URL's raw query without escaping it.
func validQuery(q string) bool {
	for i := 0; i < len(q); i++ {
		if q[i] <= ' ' || q[i] >= 0x7f || q[i] == '#' {
			return false
		}
	}
	return true
}

// fillPath puts p, escaped, in place of each of pattern's wildcards.
func fillPath(pattern, p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(pattern, '{')
		j := strings.IndexByte(pattern, '}')
		if i < 0 || j < i {
			b.WriteString(pattern)
			return b.String()
		}
		b.WriteString(pattern[:i])
		b.WriteString(url.PathEscape(p))
		pattern = pattern[j+1:]
	}
}

// boundWait keeps q as it is unless the face would read it as a wait
// longer than a moment (query.duration), as a check or a wait for a reply
// may ask: the wait is then made 100 ms, so that an input costs the
// fuzzer no more. A wait the face refuses is kept.
func boundWait(q string) string {
	const bound = 100 * time.Millisecond
	v, _ := url.ParseQuery(q)
	read := &query{vals: v}
	if d := read.duration("wait", time.Hour); read.err != nil || d <= bound {
		return q
	}
	v.Set("wait", bound.String())
	return v.Encode()
}
