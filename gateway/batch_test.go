package gateway

import (
	"fmt"
	"strings"
	"testing"
)

// mcpBatch is a JSON-RPC batch of n tools/list calls.
func mcpBatch(n int) string {
	calls := make([]string, n)
	for i := range calls {
		calls[i] = fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/list"}`, i)
	}
	return "[" + strings.Join(calls, ",") + "]"
}

// TestMCPBatchSpendsARequestPerCall checks that each call of a JSON-RPC
// batch to /mcp (protocol 2025-03-26 has them) is counted against the
// key's rate limit. The batch was counted as one request: one POST of
// 50,000 calls in 5.6 MB ran them all, for 100 seconds and 260 MB of the
// face, near the broker's limit for the name instead of the key's.
func TestMCPBatchSpendsARequestPerCall(t *testing.T) {
	f := newFace(t, func(o *Options) { o.Rate, o.Burst = 0.01, 10 })
	key := f.key("alice")
	mcpPost := func(body string) req {
		return req{method: "POST", path: "/mcp", key: key, body: body, header: map[string]string{
			"Accept": "application/json, text/event-stream", "Mcp-Protocol-Version": "2025-03-26"}}
	}
	if resp, b := f.do(mcpPost(mcpBatch(4))); resp.StatusCode != 200 || strings.Count(string(b), `"tools"`) != 4 {
		t.Fatalf("a batch of 4 calls: %d %.300s", resp.StatusCode, b)
	}
	// 6 of the 10 are left. A batch of 20 could never pass: it is
	// refused as a bad request, which waiting does not mend.
	e := f.fails(mcpPost(mcpBatch(20)), 400, "bad_request")
	if !strings.Contains(e.Error.Message, "at most 10 calls") {
		t.Errorf("a batch over the burst is told %q", e.Error.Message)
	}
	// 5 are left (a refused request spends one), 4 after this call; a batch of 5 needs as many.
	f.ok(mcpPost(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`), 200, nil)
	f.fails(mcpPost(mcpBatch(5)), 429, "rate_limited")
}
