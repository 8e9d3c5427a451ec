package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/ipcmesh/ipcmesh/store"
)

// A send whose broker is lost after the request went to it, when no
// broker can take its place, may have been stored: the command must say
// so, or the person who sends the line again sends it twice.
func TestSendWhoseBrokerIsLostSaysItMayBeStored(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "w")
	m.mustRun("register", "sender")
	broker, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("register started no detached broker")
	}
	// A pipe of the system's, not io.Pipe: the child reads it itself, so
	// its exit is not held up by a copy waiting for more lines.
	lines, write, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer write.Close()
	send := m.start(lines, "send", "--as", "sender", "--lines", "--json", "w", "-")
	lines.Close()
	io.WriteString(write, "one\n")
	if _, err := send.stdout.WaitLine(`"content": "one"`, runTimeout); err != nil {
		t.Fatalf("line 1 was not sent: %v; stderr: %s", err, send.stderr.String())
	}

	testbin.Stop(t, broker, runTimeout)
	io.WriteString(write, "two\n")
	loseBrokerWith(t, m, broker, send.cmd.Process.Pid)

	if code := send.wait(runTimeout); code == 0 {
		t.Fatalf("send exited 0 with no broker to send line 2 to: %s", send.stdout.String())
	}
	got := send.stderr.String()
	for _, want := range []string{
		"line 2: the broker was lost before it answered send",
		"line 2 may have been stored, and the lines after it were not sent (1 message sent before it)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("send's error does not say %q:\n%s", want, got)
		}
	}
}

// The same for the send tool: the model, told the send failed, would
// send it again.
func TestToolSendWhoseBrokerIsLostSaysItMayBeStored(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "w")
	broker, ok := testbin.DetachedBroker(m.dir)
	if !ok {
		t.Fatal("register started no detached broker")
	}
	cs, cmd := m.mcpProcess(t)
	t.Cleanup(func() { cmd.Process.Kill() })
	if text, isErr := assistantCall(t, cs, "register", map[string]any{"name": "sender"}); isErr {
		t.Fatalf("register: %s", text)
	}

	testbin.Stop(t, broker, runTimeout)
	answer := make(chan *mcp.CallToolResult, 1)
	go func() {
		res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "w", "content": "two"}})
		if err != nil {
			res = &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "call: " + err.Error()}}}
		}
		answer <- res
	}()
	loseBrokerWith(t, m, broker, cmd.Process.Pid)

	res := <-answer
	var text strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			text.WriteString(tc.Text)
		}
	}
	if !res.IsError {
		t.Fatalf("send with no broker to send it to succeeded: %s", text.String())
	}
	if want := "It may have been delivered before the broker was lost: to make sure it goes, send the same message again once the mesh is back; it goes at most once."; !strings.Contains(text.String(), want) {
		t.Errorf("send's error does not say %q:\n%s", want, text.String())
	}
}

// The same for a REST send: its client holds the key that has it stored
// once.
func TestRESTSendWhoseBrokerIsLostSaysItMayBeStored(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	broker := m.startBroker()
	m.mustRun("register", "w")
	srv, base := m.startServe("--http", "127.0.0.1:0")
	key := strings.TrimSpace(m.mustRun("key", "create", "human").stdout)
	c := &http.Client{Timeout: runTimeout}
	if code := api(t, c, "GET", base+"/api/v1/me", key, nil, nil); code != http.StatusOK {
		t.Fatalf("/me: status %d", code)
	}

	testbin.Stop(t, broker.cmd.Process.Pid, runTimeout)
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/v1/messages", strings.NewReader(`{"to": "w", "content": "two"}`))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "send-two-once")
		resp, err := c.Do(req)
		if err != nil {
			answers <- answer{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{resp.StatusCode, string(b)}
	}()
	loseBrokerWith(t, m, broker.cmd.Process.Pid, srv.cmd.Process.Pid)

	a := <-answers
	if a.code != http.StatusServiceUnavailable {
		t.Fatalf("a send whose broker was lost: status %d (%s), want 503", a.code, a.body)
	}
	// The request lost may be the send or the check of its key that the
	// face makes first, unless it remembers the key: either way the
	// client is told what its key does.
	for _, want := range []string{"the broker was lost before it answered", "(it may have carried it out), and no broker took its place", "sent again with the same Idempotency-Key, a send is stored once"} {
		if !strings.Contains(a.body, want) {
			t.Errorf("the answer does not say %q:\n%s", want, a.body)
		}
	}
}

// loseBrokerWith waits until a request of process pid is in the socket of
// the stopped broker, then damages the store, so that no broker can take
// the lost one's place, and kills the broker.
func loseBrokerWith(t *testing.T, m *mesh, broker, pid int) {
	t.Helper()
	testbin.Eventually(t, runTimeout, "the request to wait in the stopped broker's socket", func() bool {
		for _, n := range queued(t, m.port, pid) {
			if n > 0 {
				return true
			}
		}
		return false
	})
	db, err := os.OpenFile(store.DatabasePath(m.dir), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.WriteAt([]byte(strings.Repeat("not a store ", 2000)), 0); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := signalPID(broker, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}
