package main

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

// lineClient is `ipcmesh mcp` driven line by line, as a client that
// writes its own JSON-RPC does: what it writes reaches the server as it
// is, and what the server writes is read as it is.
type lineClient struct {
	t  *testing.T
	p  *proc
	in *io.PipeWriter
}

// lineClient starts `ipcmesh mcp` acting as alice and initializes it,
// asking for protocol version.
func (m *mesh) lineClient(t *testing.T, version string) *lineClient {
	t.Helper()
	stdin, in := io.Pipe()
	c := &lineClient{t: t, p: m.withEnv("IPC_NAME=alice").start(stdin, "mcp"), in: in}
	// Registered after start's, so run before it: the end of stdin lets
	// the process's copy of it end.
	t.Cleanup(func() { in.Close() })
	c.send(`{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}`)
	c.answer(`"init"`)
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return c
}

// send writes lines to the server, each with its line break.
func (c *lineClient) send(lines ...string) {
	c.t.Helper()
	for _, l := range lines {
		if _, err := io.WriteString(c.in, l+"\n"); err != nil {
			c.t.Fatalf("write %q to ipcmesh mcp: %v", l, err)
		}
	}
}

// answer waits for the line the server wrote that answers the request
// with id (as JSON), alone or in a batch, and returns it. The server
// answers requests in any order, so every line written so far is looked
// at.
func (c *lineClient) answer(id string) string {
	c.t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		lines := c.p.stdout.Lines()
		for _, l := range lines {
			if answersID(l, id) {
				return l
			}
		}
		more, closed := c.p.stdout.Next(len(lines), deadline, nil)
		switch {
		case len(more) > 0:
		case closed:
			c.p.wait(runTimeout)
			c.t.Fatalf("ipcmesh mcp ended (status %d) without answering %s; stderr:\n%s", c.p.code, id, tail(c.p.stderr.String(), 10))
		default:
			c.t.Fatalf("ipcmesh mcp did not answer %s within %v; stdout:\n%s", id, runTimeout, tail(c.p.stdout.String(), 10))
		}
	}
}

// answered reports whether the server has written an answer to id.
func (c *lineClient) answered(id string) bool {
	for _, l := range c.p.stdout.Lines() {
		if answersID(l, id) {
			return true
		}
	}
	return false
}

// rpcReply is a JSON-RPC answer.
type rpcReply struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// replies reads a line the server wrote: one answer, or a batch of them.
func replies(t *testing.T, line string) (r []rpcReply, batch bool) {
	t.Helper()
	batch = strings.HasPrefix(strings.TrimSpace(line), "[")
	if !batch {
		line = "[" + line + "]"
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("the server wrote %q: %v", line, err)
	}
	return r, batch
}

// answersID reports whether line, one answer or a batch of them, answers
// the request with id.
func answersID(line, id string) bool {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "[") {
		line = "[" + line + "]"
	}
	var r []rpcReply
	if json.Unmarshal([]byte(line), &r) != nil {
		return false
	}
	for _, a := range r {
		if bytes.Equal(a.ID, []byte(id)) && (a.Result != nil || a.Error != nil) {
			return true
		}
	}
	return false
}

// TestMCPGoesOnAfterLinesTheLibraryCannotRead: lines the go-sdk cannot
// decode though the guard's own checks passed them (an id too large for a
// float64, an id in a key "ID" besides an "id" that is not one, an answer
// with a null id, blanks after the message) are refused or passed without
// the blanks, and the server answers the next request: each of them ended
// the session, and the assistant lost its tools.
func TestMCPGoesOnAfterLinesTheLibraryCannotRead(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	c := m.lineClient(t, "2025-06-18")
	c.send(`{"jsonrpc":"2.0","id":1e400,"method":"ping"}`)
	if r, _ := replies(t, c.answer("1e400")); r[0].Error == nil || !strings.Contains(r[0].Error.Message, "nothing was done") {
		t.Errorf("the request with id 1e400 was answered %+v, want an error saying nothing was done", r[0])
	}
	c.send(
		`{"jsonrpc":"2.0","id":{},"ID":2,"method":"ping"}`,
		`{"jsonrpc":"2.0","id":null,"result":{}}`,
		`{"jsonrpc":"2.0","id":3,"method":"ping"}  `+"\t",
		`{"jsonrpc":"2.0","id":4,"method":"ping"}`,
	)
	for _, id := range []string{"3", "4"} {
		if r, _ := replies(t, c.answer(id)); r[0].Error != nil {
			t.Errorf("ping %s: %+v", id, r[0].Error)
		}
	}
	if c.answered("2") {
		t.Errorf("the line without a valid id was answered:\n%s", c.p.stdout.String())
	}
}
