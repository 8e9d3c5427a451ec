package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/ipcmesh/ipcmesh"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// nameUnknownTools answers a call of a tool the server does not have with
// the tools nearest its name and where the rest are listed. The SDK's own
// answer (`unknown tool "sendd"`) leaves a model that mistyped a name to
// guess again. The answer stays the JSON-RPC error the SDK gives, invalid
// params, as MCP has it for an unknown tool.
func nameUnknownTools(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		call, isCall := req.(*mcp.CallToolRequest)
		if err == nil || !isCall || call.Params == nil {
			return res, err
		}
		// Only a name the server lacks: any other error of a call,
		// its own arguments' say, is the tool's to word.
		list, lerr := next(ctx, "tools/list", &mcp.ListToolsRequest{Session: call.Session, Params: &mcp.ListToolsParams{}})
		tools, ok := list.(*mcp.ListToolsResult)
		if lerr != nil || !ok {
			return res, err
		}
		var names []string
		for _, t := range tools.Tools {
			names = append(names, t.Name)
		}
		if slices.Contains(names, call.Params.Name) {
			return res, err
		}
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: unknownTool(call.Params.Name, names)}
	}
}

// unknownTool words the error for a call of the tool name, which is none
// of names.
func unknownTool(name string, names []string) string {
	msg := fmt.Sprintf("unknown tool %q", name)
	near := ipcmesh.NearNames(name, names, 3)
	if len(near) == 0 {
		near = likelyMeant(name, names)
	}
	if len(near) > 0 {
		msg += fmt.Sprintf(": did you mean %s?", strings.Join(near, " or "))
	}
	return msg + " (tools/list lists the tools this server has)"
}

// likelyMeant finds the tools meant by a name that NearNames, which
// counts edits, does not: the verb-object names other messaging servers
// give their tools ("send_message", "checkMessages": the longest tool name
// it holds as whole words), and a word of a tool's name ("instances": the
// tools that hold it). Looser matching would mislead: "read" is two edits
// from "send", and "list_shared" holds "share"; a model calling either
// wants another tool.
func likelyMeant(name string, names []string) []string {
	words := "_" + snake(name) + "_"
	held := ""
	var holders []string
	for _, n := range names {
		switch {
		case strings.Contains(words, "_"+n+"_") && len(n) > len(held):
			held = n
		case len(words) >= 6 && strings.Contains("_"+n+"_", words):
			holders = append(holders, n)
		}
	}
	if held != "" {
		return []string{held}
	}
	return holders[:min(len(holders), 3)]
}

// snake writes a name's words as tool names have them: lower case,
// joined by '_' ("checkMessages" and "check-messages" are
// "check_messages").
func snake(name string) string {
	var b strings.Builder
	prev := '_'
	for _, r := range name {
		c := r
		switch {
		case r == '-' || r == '.' || r == ' ':
			c = '_'
		case unicode.IsUpper(r):
			if unicode.IsLower(prev) || unicode.IsDigit(prev) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(r)
		}
		b.WriteRune(c)
		prev = r
	}
	return b.String()
}
