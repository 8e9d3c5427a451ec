package remote_test

import (
	"context"
	"io"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/tools/remote"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// TestCallWhileTheFaceIsDown: a call made while nothing listens at the
// face's address (the face stopped, or moved to another port) fails at
// once with a tool error the model reads, which says what is wrong and
// what to do, and the bridge serves again once the face is back. The call
// failed with a JSON-RPC error (-32005) instead, whose text only said
// "connection refused" under the go-sdk's own words; and then, for the
// first call after the face went, only after 30 s of waiting for the face
// to come back, though the request had never reached it.
func TestCallWhileTheFaceIsDown(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	alice := mcptest.JoinAs(t, cfg, "alice")
	bob := mcptest.JoinAs(t, cfg, "bob")
	face := mcptest.Face(alice, true)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	first := &http.Server{Handler: face, ErrorLog: stdlog.New(io.Discard, "", 0)}
	go first.Serve(ln)
	t.Cleanup(func() { first.Close() })

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c, _ := bridged(t, remote.Options{URL: "http://" + addr, Key: mcptest.Key, HTTPClient: &http.Client{Transport: tr}})
	c.OK("list_instances", nil)
	first.Close() // gone as a face whose process ended
	// The bridge sees the face close the connection it keeps, in a
	// moment of its own: here at once, so that the call below dials.
	tr.CloseIdleConnections()

	// Far more than the answer takes; it took 30 s.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := c.Session.CallTool(ctx, &mcp.CallToolParams{Name: "send", Arguments: map[string]any{"to": "bob", "content": "no face"}})
	if err != nil {
		t.Fatalf("a call while the face is down: no tool error within 10 s: %v", err)
	}
	if !res.IsError {
		t.Fatalf("a call while the face is down succeeded: %s", mcptest.ResultText(res))
	}
	got := mcptest.ResultText(res)
	mcptest.Contains(t, "a call while the face is down", got,
		"cannot call send", "cannot reach the ipcmesh HTTP face at http://"+addr+"/mcp", "connection refused",
		"ipcmesh serve --http", "--remote", "next call")
	mcptest.NotContains(t, "a call while the face is down", got, `calling "initialize"`, "rejected by transport")

	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen at the face's address again: %v", err)
	}
	second := &http.Server{Handler: face}
	go second.Serve(ln2)
	t.Cleanup(func() { second.Close() })
	mcptest.Contains(t, "a send once the face is back", c.OK("send", map[string]any{"to": "bob", "content": "back"}), "Delivered to bob")
	r, err := bob.Check(t.Context(), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var contents []string
	for _, m := range r.Messages {
		contents = append(contents, m.Content)
	}
	if strings.Join(contents, "|") != "back" {
		t.Fatalf("bob got %q, want the one send the bridge acknowledged", contents)
	}
}
