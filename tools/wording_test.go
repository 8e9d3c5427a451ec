package tools_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// A call of a tool the server does not have is answered, as the JSON-RPC
// error MCP has for it, with the tools nearest the name and where all are
// listed, not the bare "unknown tool".
func TestUnknownToolNamesTheNearest(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	for _, tc := range []struct {
		tool   string
		want   []string
		unwant []string
	}{
		{"sendd", []string{`unknown tool "sendd": did you mean send?`, "tools/list lists the tools"}, nil},
		{"Check", []string{"did you mean check?"}, nil},
		{"summon", []string{`unknown tool "summon" (tools/list lists the tools this server has)`}, []string{"did you mean"}},
		// Two letters swapped, which edit distance counts as two edits.
		{"sedn", []string{"did you mean send?"}, nil},
		// The verb-object names of other messaging servers, and a bare
		// word of a tool's name.
		{"send_message", []string{"did you mean send?"}, nil},
		{"check_messages", []string{"did you mean check?"}, nil},
		{"get_shared_data", []string{"did you mean get_shared?"}, nil},
		{"start_auto_check", []string{"did you mean auto_check?"}, nil},
		{"checkMessages", []string{"did you mean check?"}, nil},
		{"instances", []string{"did you mean list_instances?"}, nil},
		// A short word near a tool's name by edit distance, or a name
		// that holds one but not as a word, is no typo of it: a model
		// that calls read wants check, not send, and list_shared
		// get_shared, not share.
		{"read", []string{`unknown tool "read" (tools/list`}, []string{"did you mean"}},
		{"list_shared", []string{`unknown tool "list_shared" (tools/list`}, []string{"did you mean"}},
	} {
		_, err := c.Session.CallTool(t.Context(), &mcp.CallToolParams{Name: tc.tool, Arguments: map[string]any{}})
		var wire *jsonrpc.Error
		if !errors.As(err, &wire) || wire.Code != jsonrpc.CodeInvalidParams {
			t.Fatalf("%s: %v, want a JSON-RPC invalid params error", tc.tool, err)
		}
		mcptest.Contains(t, tc.tool, wire.Message, tc.want...)
		mcptest.NotContains(t, tc.tool, wire.Message, tc.unwant...)
	}
	// A known tool's own errors are its own.
	mcptest.Contains(t, "send unregistered", c.Fails("send", map[string]any{"to": "bob", "content": "hi"}), "register")
}

// Arguments that do not fit a tool are answered with the tool's real
// arguments, named and typed, and the one likely meant.
func TestWrongArgumentsNameTheRealOnes(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	for _, tc := range []struct {
		tool string
		args map[string]any
		want []string
	}{
		{"auto_check", map[string]any{"minutes": 5}, []string{`no "minutes" (did you mean "interval_minutes"?)`, "interval_minutes (integer)"}},
		// What another tool takes is named with that tool.
		{"register", map[string]any{"name": "builder", "description": "the build bot"}, []string{`it takes no "description" (set_status sets a description once registered)`, "name (string, required)"}},
		{"send", map[string]any{"to": "bob", "message": "hi"}, []string{`no "message"`, `needs "content"`, "content (string, required)", "to (string, required)", "type (string: one of message, request, response"}},
		{"check", map[string]any{"wait_seconds": "5"}, []string{"wait_seconds", "integer", "Its arguments:"}},
		// A value of the wrong type is shown as sent, not as Go prints
		// it, with how to write it where only the quotes are wrong.
		{"check", map[string]any{"wait_seconds": "5"}, []string{`wait_seconds: "5" is a string, but it takes a whole number: write 5, without quotes.`}},
		{"check", map[string]any{"wait_seconds": "five"}, []string{`wait_seconds: "five" is a string, but it takes a whole number.`}},
		{"channels", map[string]any{"action": "create", "name": "x", "private": "true"}, []string{`private: "true" is a string, but it takes true or false: write true, without quotes.`}},
		{"channels", map[string]any{"action": "create", "name": "x", "members": "bob"}, []string{`members: "bob" is a string, but it takes a list: write ["bob"].`}},
		{"channels", map[string]any{"action": "create", "name": "x", "members": []any{1}}, []string{`members: [1] holds a number where every item must be a string.`}},
		{"send", map[string]any{"to": 5, "content": "hi"}, []string{`to: 5 is a number, but it takes a string: write "5", in quotes.`}},
		{"send", map[string]any{"to": "bob", "content": map[string]any{"text": "hi"}}, []string{`content: {"text":"hi"} is an object, but it takes a string.`}},
		// A number the schema takes but the Go type cannot hold.
		{"check", map[string]any{"wait_seconds": 1e30}, []string{"cannot run check with these arguments: wait_seconds: the number is out of range", "wait_seconds (integer)"}},
		{"history", map[string]any{"with": "bob", "limit": 1e30}, []string{"limit: the number is out of range", "Its arguments:"}},
		{"history", map[string]any{"with": "bob", "before": -1}, []string{"before: must be 0 or more, got -1", "Its arguments:"}},
		// A value outside the choices is quoted, with the choices as
		// words and the one likely meant.
		{"send", map[string]any{"to": "bob", "content": "hi", "type": "req"}, []string{`type: "req" is not one of message, request, response, status, handoff, done (did you mean "request"?)`}},
		{"channels", map[string]any{"action": "delete"}, []string{`action: "delete" is not one of create, list, find, join, leave`}},
	} {
		got := c.Fails(tc.tool, tc.args)
		mcptest.Contains(t, tc.tool, got, tc.want...)
		mcptest.NotContains(t, tc.tool, got, "additional properties", "Go struct field", "-1/1", "0.000000", "does not equal", "has type", "map[")
		if !strings.Contains(strings.Join(tc.want, ""), "[") {
			// A Go slice of the choices, not a list the answer shows.
			mcptest.NotContains(t, tc.tool, got, "[")
		}
	}
}

// An optional argument given as null is one left out, as many clients
// write it; a required one given as null is missing.
func TestNullArgumentsAreLeftOut(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	mcptest.Contains(t, "check with nulls", c.OK("check", map[string]any{"wait_seconds": nil, "from": nil}), "No new messages for alice")
	mcptest.Contains(t, "send with a null", c.OK("send", map[string]any{"to": "bob", "content": "hi", "reply_to": nil, "type": nil}), "Delivered to bob")
	mcptest.Contains(t, "send with a null content", c.Fails("send", map[string]any{"to": "bob", "content": nil}), `needs "content"`)
}

// An optional argument restricted to listed values, given as "", is one
// left out, as clients that fill every argument write it; a required one
// given as "" is refused, naming its values.
func TestEmptyChoiceIsLeftOut(t *testing.T) {
	cfg := mcptest.MeshConfig(t)
	c := serveStdio(t, cfg)
	mcptest.JoinAs(t, cfg, "bob")
	c.OK("register", map[string]any{"name": "alice"})
	got := c.OK("send", map[string]any{"to": "bob", "content": "hi", "type": "", "reply_to": "", "shared": ""})
	mcptest.Contains(t, "send with empty type", got, "Delivered to bob")
	mcptest.NotContains(t, "send with empty type", got, "type ")
	mcptest.Contains(t, "channels with an empty action", c.Fails("channels", map[string]any{"action": ""}), "action", "one of create, list, find, join, leave")
}

// A name or key with a character outside the allowed ones is refused
// naming that character and where it is, counted in characters: a model
// that typed "héllo" is told of 'é', never of the first byte of its
// encoding, nor that a short name in another script is too long.
func TestUnicodeNamesAreRefusedByTheirCharacter(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	got := c.Fails("register", map[string]any{"name": "héllo"})
	mcptest.Contains(t, "register héllo", got, `'é' at position 2`)
	got = c.Fails("register", map[string]any{"name": "名前名前名前名前名前名前"})
	mcptest.Contains(t, "register a name of 12 kanji", got, `'名' at position 1`)
	mcptest.NotContains(t, "register a name of 12 kanji", got, "characters long")
	c.OK("register", map[string]any{"name": "alice"})
	mcptest.Contains(t, "share under clé", c.Fails("share", map[string]any{"key": "clé", "content": "x"}), `has 'é'`)
}

// Arguments that are not a JSON object (a number, a list, a string) are
// answered with what they must be and the tool's real arguments, not with
// the Go type the SDK reads them into.
func TestArgumentsThatAreNoObject(t *testing.T) {
	c := serveStdio(t, mcptest.MeshConfig(t))
	for _, tc := range []struct{ tool, args, kind, then string }{
		{"check", `0`, "a number", "Its arguments: from (string), wait_seconds (integer)."},
		{"check", `"x"`, "a string", "Its arguments:"},
		{"send", ` [1]`, "a list", "content (string, required)"},
		{"list_instances", `true`, "a boolean", "It takes no arguments: call it with {}."},
	} {
		res, err := c.Session.CallTool(t.Context(), &mcp.CallToolParams{Name: tc.tool, Arguments: json.RawMessage(tc.args)})
		if err != nil {
			t.Fatalf("%s(%s): %v", tc.tool, tc.args, err)
		}
		got := mcptest.ResultText(res)
		if !res.IsError {
			t.Fatalf("%s(%s) succeeded: %s", tc.tool, tc.args, got)
		}
		mcptest.Contains(t, tc.tool+"("+tc.args+")", got, "the arguments are "+tc.kind+", not a JSON object", tc.then)
		mcptest.NotContains(t, tc.tool+"("+tc.args+")", got, "Go value", "map[string]", "unmarshal", "it needs")
	}
}
