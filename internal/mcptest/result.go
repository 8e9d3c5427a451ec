package mcptest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ResultText is the text of a tool result: its text contents, joined.
func ResultText(res *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// CallResult is the outcome of a tool call made in the background.
type CallResult struct {
	Res *mcp.CallToolResult
	Err error
}

// WaitingCheck starts a check on cs that waits for mail, with progress
// token tok, and returns where its result will arrive.
func WaitingCheck(ctx context.Context, cs *mcp.ClientSession, tok any) <-chan CallResult {
	done := make(chan CallResult, 1)
	go func() {
		params := &mcp.CallToolParams{Name: "check", Arguments: map[string]any{"wait_seconds": 300}}
		params.SetProgressToken(tok)
		res, err := cs.CallTool(ctx, params)
		done <- CallResult{res, err}
	}()
	return done
}

// Await receives from ch. Where the test has a deadline (go test
// -timeout), it gives up shortly before it, to say what never came.
func Await[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	t, ok := tb.(interface{ Deadline() (time.Time, bool) })
	if !ok {
		return <-ch
	}
	deadline, ok := t.Deadline()
	if !ok {
		return <-ch
	}
	timer := time.NewTimer(time.Until(deadline) - 5*time.Second)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		tb.Fatalf("waited in vain for %s", what)
	}
	panic("unreachable")
}

// Contains reports an error unless got, named what, contains each of want.
func Contains(tb testing.TB, what, got string, want ...string) {
	tb.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			tb.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

// NotContains reports an error if got, named what, contains any of
// unwanted.
func NotContains(tb testing.TB, what, got string, unwanted ...string) {
	tb.Helper()
	for _, u := range unwanted {
		if strings.Contains(got, u) {
			tb.Errorf("%s = %q, want it without %q", what, got, u)
		}
	}
}
