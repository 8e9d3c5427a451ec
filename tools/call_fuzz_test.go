package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/tools"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// FuzzToolCall calls the tools of the server the HTTP face serves a key
// with arbitrary arguments, as a model or a client of the face may write
// them, and checks what the caller sees: an answer within seconds, either
// a result with text or a JSON-RPC error with a message; an error result
// that says what was wrong in words, not in the SDK's Go terms; no
// character that acts on a terminal; and a server that still answers
// after it. The mesh and the server are made once per fuzzing process, so
// an input meets whatever the ones before it stored.
//
//	go test -run '^$' -fuzz FuzzToolCall -fuzztime 60s ./tools/
func FuzzToolCall(f *testing.F) {
	cfg := mcptest.MeshConfig(f)
	cfg.Limits = ipc.Limits{OpsPerSecond: 1e9, OpsBurst: 1 << 30}
	alice := mcptest.JoinAs(f, cfg, "alice")
	mcptest.JoinAs(f, cfg, "bob")

	ct, st := mcp.NewInMemoryTransports()
	ss, err := tools.NewBound(alice, tools.BoundOptions{Version: "fuzz"}).Connect(context.Background(), st, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { ss.Close() })
	cs := mcptest.Connect(f, ct, "").Session

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	list, err := cs.ListTools(ctx, nil)
	cancel()
	if err != nil {
		f.Fatal(err)
	}
	var names []string
	for _, t := range list.Tools {
		names = append(names, t.Name)
	}
	index := func(name string) uint8 {
		for i, n := range names {
			if n == name {
				return uint8(i)
			}
		}
		f.Fatalf("no tool %s in %q", name, names)
		return 0
	}
	for _, s := range []struct{ tool, args string }{
		{"send", `{"to":"bob","content":"hello"}`},
		{"send", `{"to":"bob","content":"a request","type":"request","reply_to":"0123456789abcdef"}`},
		{"send", `{"to":"#general","content":"to a channel","type":""}`},
		{"send", `{"to":"bob","content":null}`},
		{"send", `{"to":"bob","content":1}`},
		{"send", `{"to":"bob","content":"x","minutes":5}`},
		{"check", `{}`},
		{"check", `{"wait_seconds":-1}`},
		{"check", `{"wait_seconds":1e30}`},
		{"check", `{"wait_seconds":1.5,"from":"bob"}`},
		{"broadcast", `{"content":"all"}`},
		{"channels", `{"action":"create","name":"builders","description":"d","members":["bob"]}`},
		{"channels", `{"action":"join","name":"builders"}`},
		{"channels", `{"action":"find","query":"build"}`},
		{"channels", `{"action":"explode"}`},
		{"history", `{"with":"bob","limit":3,"before":9}`},
		{"history", `{"channel":"builders","since":"2026-01-02","until":"24h"}`},
		{"history", `{"id":"0123456789abcdef","offset":-5}`},
		{"history", `{"thread":"0123456789abcdef","after":18446744073709551615}`},
		{"list_instances", `{}`},
		{"register", `{"name":"alice"}`},
		{"register", `{"name":"mallory"}`},
		{"rename", `{"new_name":"../x"}`},
		{"search", `{"query":"hello","from":"bob","since":"7d"}`},
		{"share", `{"key":"plan","content":"step 1","description":"the plan"}`},
		{"get_shared", `{"key":"plan","offset":3}`},
		{"get_shared", `{}`},
		{"set_status", `{"status":"building","description":"the\nplan"}`},
		{"auto_check", `{"interval_minutes":-1}`},
		{"auto_check", `{}`},
	} {
		f.Add(index(s.tool), []byte(s.args))
	}
	f.Add(uint8(255), []byte(`{}`)) // a tool that is not there
	f.Add(index("send"), []byte(`[1]`))
	f.Add(index("send"), []byte(`"x"`))

	f.Fuzz(func(t *testing.T, sel uint8, args []byte) {
		name := "no_such_tool"
		if int(sel) < len(names) {
			name = names[sel]
		}
		if !json.Valid(args) {
			return // the client cannot send it: arguments are JSON
		}
		args = noWait(args)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(args)})
		var wire *jsonrpc.Error
		switch {
		case ctx.Err() != nil:
			t.Fatalf("%s(%s): no answer in 20 s", name, args)
		case errors.As(err, &wire):
			if wire.Message == "" {
				t.Fatalf("%s(%s): a JSON-RPC error with no message: %v", name, args, err)
			}
		case err != nil:
			t.Fatalf("%s(%s): %v", name, args, err)
		default:
			text := mcptest.ResultText(res)
			if strings.TrimSpace(text) == "" {
				t.Fatalf("%s(%s): a result with no text (error %v): %+v", name, args, res.IsError, res)
			}
			for _, goTerm := range []string{"reflect.Value", "Go struct field", "Go value of type", "json: cannot unmarshal"} {
				if res.IsError && strings.Contains(text, goTerm) {
					t.Fatalf("%s(%s): the error speaks of Go (%q), not of the arguments: %s", name, args, goTerm, text)
				}
			}
			for _, r := range text {
				if r != '\n' && r != '\t' && unicode.IsControl(r) {
					t.Fatalf("%s(%s): the result holds the control character %U: %q", name, args, r, text)
				}
			}
		}
		if _, err := cs.ListTools(ctx, nil); err != nil {
			t.Fatalf("after %s(%s): tools/list: %v", name, args, err)
		}
	})
}

// noWait makes a wait the arguments ask for (wait_seconds above 0, under
// any spelling of the name) none, so that an input costs the fuzzer no
// more than a moment. A wait the tool refuses is kept.
func noWait(args []byte) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil {
		return args
	}
	changed := false
	for k, v := range m {
		var n int
		if strings.EqualFold(k, "wait_seconds") && json.Unmarshal(v, &n) == nil && n > 0 {
			m[k] = json.RawMessage("0")
			changed = true
		}
	}
	if !changed {
		return args
	}
	b, err := json.Marshal(m)
	if err != nil {
		return args
	}
	return b
}
