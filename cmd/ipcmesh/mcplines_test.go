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
	c := m.startLineClient(t)
	c.send(initialize(version))
	c.answer(`"init"`)
	c.send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return c
}

// startLineClient starts `ipcmesh mcp` acting as alice, for a client that
// initializes it itself.
func (m *mesh) startLineClient(t *testing.T) *lineClient {
	t.Helper()
	stdin, in := io.Pipe()
	c := &lineClient{t: t, p: m.withEnv("IPC_NAME=alice").start(stdin, "mcp"), in: in}
	// Registered after start's, so run before it: the server ends as a
	// client's end of stdin ends it, leaving the mesh as it does, rather
	// than killed on the way.
	t.Cleanup(func() {
		in.Close()
		c.p.wait(runTimeout)
	})
	return c
}

// initialize is the initialize request with id "init", asking for
// protocol version.
func initialize(version string) string {
	return `{"jsonrpc":"2.0","id":"init","method":"initialize","params":{"protocolVersion":"` + version + `","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}`
}

// send writes lines to the server, each with its line break, in one
// write: the server may read them all at once.
func (c *lineClient) send(lines ...string) {
	c.t.Helper()
	if _, err := io.WriteString(c.in, strings.Join(lines, "\n")+"\n"); err != nil {
		c.t.Fatalf("write %q to ipcmesh mcp: %v", lines, err)
	}
}

// answer waits for the line the server wrote that answers the request
// with id (as JSON), alone or in a batch, and returns it. The server
// answers requests in any order, so every line written so far is looked
// at.
func (c *lineClient) answer(id string) string {
	c.t.Helper()
	return c.waitFor("an answer to "+id, func(l string) bool { return answersID(l, id) })
}

// waitFor waits for a line the server wrote, of those so far or one to
// come, for which is holds, and returns it; what names it for the error.
func (c *lineClient) waitFor(what string, is func(string) bool) string {
	c.t.Helper()
	deadline := time.Now().Add(runTimeout)
	for {
		lines := c.p.stdout.Lines()
		for _, l := range lines {
			if is(l) {
				return l
			}
		}
		more, closed := c.p.stdout.Next(len(lines), deadline, nil)
		switch {
		case len(more) > 0:
		case closed:
			c.p.wait(runTimeout)
			c.t.Fatalf("ipcmesh mcp ended (status %d) without writing %s; stderr:\n%s", c.p.code, what, tail(c.p.stderr.String(), 10))
		default:
			c.t.Fatalf("ipcmesh mcp did not write %s within %v; stdout:\n%s", what, runTimeout, tail(c.p.stdout.String(), 10))
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
// the session, and with it the client's use of the server.
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

// wantRefusedBatch checks that the line answering id answers it alone,
// with an error that says the batch was refused, why, and what to send.
func wantRefusedBatch(t *testing.T, line, id, why string) {
	t.Helper()
	r, batch := replies(t, line)
	if batch || len(r) != 1 || r[0].Error == nil || r[0].Error.Code != -32600 {
		t.Errorf("request %s was answered %s, want one error, an invalid request (-32600), alone on its line", id, line)
		return
	}
	for _, says := range []string{"the line is a JSON-RPC batch, and " + why, "nothing in it was done", "send one JSON-RPC 2.0 object per line"} {
		if !strings.Contains(r[0].Error.Message, says) {
			t.Errorf("the answer to %s, %q, does not say %q", id, r[0].Error.Message, says)
		}
	}
}

// wantResults checks that line is a batch of answers with a result for
// each of ids, and nothing else.
func wantResults(t *testing.T, line string, ids ...string) {
	t.Helper()
	r, batch := replies(t, line)
	var got []string
	for _, a := range r {
		if a.Error != nil {
			t.Errorf("request %s: %s", a.ID, a.Error.Message)
		}
		got = append(got, string(a.ID))
	}
	if !batch || strings.Join(got, " ") != strings.Join(ids, " ") {
		t.Errorf("answered %s, want a batch of answers to %v", line, ids)
	}
}

// TestMCPRefusesBatchesWhereTheVersionHasNone: under a protocol version
// without JSON-RPC batches (2025-06-18 and later; a client asking for
// 2026-07-28 at initialize gets 2025-11-25), a batch is refused: each
// request in it gets an error, alone on its line, that says so and to
// send one object a line, and the server answers the next request with
// its tools all there. The go-sdk ended the session on such a batch, and
// the client lost the server. A client that sends the batch right
// after initialize, before its answer, is answered so too.
func TestMCPRefusesBatchesWhereTheVersionHasNone(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	batch := `[{"jsonrpc":"2.0","id":7,"method":"tools/list"},{"jsonrpc":"2.0","id":8,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]`
	for _, c := range []struct{ asked, agreed string }{
		{"2025-06-18", "2025-06-18"},
		{"2025-11-25", "2025-11-25"},
		{"2026-07-28", "2025-11-25"},
	} {
		t.Run(c.asked, func(t *testing.T) {
			client := m.lineClient(t, c.asked)
			client.send(batch, `{"jsonrpc":"2.0","id":9,"method":"ping"}`)
			why := "MCP " + c.agreed + ", the protocol version agreed at initialize, has no batches"
			wantRefusedBatch(t, client.answer("7"), "7", why)
			wantRefusedBatch(t, client.answer("8"), "8", why)
			client.answer("9")
			client.send(`{"jsonrpc":"2.0","id":10,"method":"tools/list"}`)
			if r, _ := replies(t, client.answer("10")); r[0].Error != nil || !strings.Contains(string(r[0].Result), `"name":"send"`) {
				t.Errorf("tools/list after the batch: %s", client.answer("10"))
			}
		})
	}
	t.Run("sent before the answer to initialize", func(t *testing.T) {
		client := m.startLineClient(t)
		client.send(initialize("2025-06-18"), batch, `{"jsonrpc":"2.0","id":9,"method":"ping"}`)
		why := "MCP 2025-06-18, the protocol version agreed at initialize, has no batches"
		wantRefusedBatch(t, client.answer("7"), "7", why)
		wantRefusedBatch(t, client.answer("8"), "8", why)
		client.answer("9")
	})
}

// TestMCPAnswersBatchesWhereTheVersionHasThem: under protocol 2025-03-26,
// which has JSON-RPC batches, a batch of requests is answered with a
// batch; one with notifications in it is answered too (the go-sdk never
// answered it, and ended the session on one with two notifications); a
// batch the SDK ended the session on (empty, with a message that is not
// JSON-RPC, with two requests of one id, with the id of a request in an
// earlier batch still running) is refused, each request in it answered
// with an error, and the session goes on. Once the earlier request is
// answered its id may be used again.
func TestMCPAnswersBatchesWhereTheVersionHasThem(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	c := m.lineClient(t, "2025-03-26")

	c.send(`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"ping"}]`)
	wantResults(t, c.answer("1"), "1", "2")
	c.send(`[{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]`)
	wantResults(t, c.answer("3"), "3")
	c.send(`[{"jsonrpc":"2.0","method":"notifications/roots/list_changed"},{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]`,
		`[{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}]`,
		`[ ]`,
		`[{"jsonrpc":"2.0","id":4,"method":"ping"},42]`,
		`[{"jsonrpc":"2.0","id":5,"method":"ping"},{"jsonrpc":"2.0","id":5,"method":"tools/list"}]`)
	wantRefusedBatch(t, c.answer("4"), "4", "its message 2 is not a JSON-RPC 2.0 message")
	wantRefusedBatch(t, c.answer("5"), "5", "two of its requests have the id 5")

	// A check that waits keeps its batch unanswered.
	c.send(`[{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"check","arguments":{"wait_seconds":120}}}]`,
		`[{"jsonrpc":"2.0","id":6,"method":"ping"}]`)
	wantRefusedBatch(t, c.answer("6"), "6", "its request 6 has the id of a request in an earlier batch, not yet answered")
	c.send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":6}}`)
	c.waitFor("the batch that answers the check", func(l string) bool { return strings.HasPrefix(l, "[") && answersID(l, "6") })
	c.send(`[{"jsonrpc":"2.0","id":6,"method":"ping"},{"jsonrpc":"2.0","id":7,"method":"ping"}]`)
	wantResults(t, c.answer("7"), "6", "7")
}

// TestBatchPipedIntoMCPIsAnswered: a script that pipes initialize and a
// batch into ipcmesh mcp under protocol 2025-03-26 gets the batch's
// answers, and what it asks is done, though stdin ends right after it.
// The go-sdk dropped the batch when stdin ended: the guard that holds
// stdin's end for the answers did not see the requests in a batch.
func TestBatchPipedIntoMCPIsAnswered(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	in := strings.Join([]string{
		initialize("2025-03-26"),
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`[{"jsonrpc":"2.0","id":2,"method":"tools/list"},{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"send","arguments":{"to":"bob","content":"in a batch"}}}]`,
	}, "\n") + "\n"
	r := m.withEnv("IPC_NAME=alice").runIn(in, "mcp")
	if r.code != 0 {
		t.Fatalf("ipcmesh mcp: %s", r)
	}
	var batch string
	for line := range strings.Lines(r.stdout) {
		if answersID(line, "2") {
			batch = line
		}
	}
	if batch == "" {
		t.Fatalf("the batch was not answered:\n%s", r.stdout)
	}
	wantResults(t, batch, "2", "3")
	wantIn(t, "bob's check", m.mustRun("check", "--as", "bob").stdout, "in a batch")
}
