package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestRequestsPipedIntoMCPAreAnswered: a script that pipes a few requests
// into ipcmesh mcp, as one tries a server by hand, gets an answer to each,
// and what they ask is done, though stdin ends right after them.
func TestRequestsPipedIntoMCPAreAnswered(t *testing.T) {
	t.Parallel()
	m := newMesh(t)
	m.mustRun("register", "bob")
	in := strings.Join([]string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"sh","version":"1"}}}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":2,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":"send-1","method":"tools/call","params":{"name":"send","arguments":{"to":"bob","content":"piped in"}}}`,
	}, "\n") + "\n"
	r := m.withEnv("IPC_NAME=alice").runIn(in, "mcp")
	if r.code != 0 {
		t.Fatalf("ipcmesh mcp: %s", r)
	}
	var ids []string
	for line := range strings.Lines(r.stdout) {
		var msg struct {
			ID    json.RawMessage `json:"id"`
			Error any             `json:"error"`
		}
		if err := json.Unmarshal([]byte(line), &msg); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if msg.Error != nil {
			t.Errorf("request %s answered with an error: %s", msg.ID, line)
		}
		ids = append(ids, string(msg.ID))
	}
	// The server handles requests as they come, side by side, and
	// answers each when it is done, as JSON-RPC allows: the send may be
	// answered before the list of tools.
	slices.Sort(ids)
	if got := strings.Join(ids, " "); got != `"send-1" 1 2` {
		t.Fatalf("answered %s, want 1, 2 and \"send-1\", in any order:\n%s", got, r.stdout)
	}
	wantIn(t, "bob's check", m.mustRun("check", "--as", "bob").stdout, "piped in")
}
