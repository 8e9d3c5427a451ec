package cli

import (
	"testing"
	"time"
)

// TestAnswersAwaitsEachRequest: a request is awaited until the answer with
// its id, as the SDK writes it back, or until the client cancels it;
// notifications and ids MCP has no use for are not awaited.
func TestAnswersAwaitsEachRequest(t *testing.T) {
	a := newAnswers()
	for _, line := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"\u0061","method":"tools/call"}`,
		`{"jsonrpc":"2.0","id":7,"method":"tools/call"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":null,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":1.5,"method":"ping"}`,
		`not json`,
	} {
		a.read([]byte(line))
	}
	if len(a.pending) != 3 {
		t.Fatalf("awaiting %v, want ids 1, \"a\" and 7", a.pending)
	}
	a.wrote([]byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
	a.wrote([]byte(`{"jsonrpc":"2.0","id":"a","error":{"code":-1,"message":"no"}}`))
	a.wrote([]byte(`{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":7}}`))
	if len(a.pending) != 1 {
		t.Fatalf("after two answers, awaiting %v, want 7 alone", a.pending)
	}
	done := make(chan struct{})
	go func() {
		a.wait(time.Hour, nil, nil)
		close(done)
	}()
	a.read([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}`))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("wait did not return once the last request was cancelled")
	}
}
