package tools

import (
	"context"
	"fmt"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A retry gets its first try's answer even when more tries than replays
// keeps began since, as long as that first try is still running: only
// answers that are done make room.
func TestReplaysKeepTheTriesStillRunning(t *testing.T) {
	var r replays
	ctx := context.Background()
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan *mcp.CallToolResult)
	go func() {
		res, _ := r.do(ctx, "first", func() (*mcp.CallToolResult, error) {
			close(started)
			<-release
			return text("the mail the first try read"), nil
		})
		first <- res
	}()
	<-started
	for i := range keepReplays + 3 {
		if _, err := r.do(ctx, fmt.Sprint("other-", i), func() (*mcp.CallToolResult, error) { return text("other"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	retried := make(chan *mcp.CallToolResult)
	go func() {
		res, _ := r.do(ctx, "first", func() (*mcp.CallToolResult, error) { return text("a second run"), nil })
		retried <- res
	}()
	close(release)
	if got := resultText(<-first); got != "the mail the first try read" {
		t.Fatalf("first try: %q", got)
	}
	if got := resultText(<-retried); got != "the mail the first try read" {
		t.Errorf("the retry got %q; want the first try's answer", got)
	}
	if n := len(r.order); n > keepReplays+1 {
		t.Errorf("%d answers kept, want at most %d once the tries are done", n, keepReplays+1)
	}
}

func resultText(res *mcp.CallToolResult) string {
	if res == nil || len(res.Content) == 0 {
		return ""
	}
	return res.Content[0].(*mcp.TextContent).Text
}
