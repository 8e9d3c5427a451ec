package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// sdkInvalid begins the SDK's answer to arguments that do not fit a tool's
// input schema (go-sdk v1.8).
const sdkInvalid = `validating "arguments": `

// explainArguments answers a tool call whose arguments do not fit the
// tool's input schema with what was wrong and the tool's real arguments,
// named and typed. The SDK's own answer (`unexpected additional properties
// ["minutes"]`) tells a model what it got wrong but not what is right, so
// it guesses again.
func (c *core) explainArguments(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		call, isCall := req.(*mcp.CallToolRequest)
		r, isResult := res.(*mcp.CallToolResult)
		if err != nil || !isCall || !isResult || !r.IsError || len(r.Content) != 1 {
			return res, err
		}
		t, ok := r.Content[0].(*mcp.TextContent)
		if !ok {
			return res, err
		}
		detail, ok := argumentsDetail(t.Text)
		if !ok {
			return res, err
		}
		list, lerr := next(ctx, "tools/list", &mcp.ListToolsRequest{Session: call.Session, Params: &mcp.ListToolsParams{}})
		tools, ok := list.(*mcp.ListToolsResult)
		if lerr != nil || !ok {
			return res, err
		}
		for _, tool := range tools.Tools {
			if tool.Name == call.Params.Name {
				return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{
					&mcp.TextContent{Text: wrongArguments(tool, call.Params.Arguments, detail)},
				}}, nil
			}
		}
		return res, err
	}
}

// dropNulls takes an argument given as null for one left out. Clients and
// models often write null for an optional argument they do not use; the
// input schema takes only the argument's type, and the SDK's refusal
// ("type: <invalid reflect.Value> has type \"null\"") tells a model
// nothing it can act on. A required argument given as null is then
// missing, which explainArguments says.
func dropNulls(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		if call, ok := req.(*mcp.CallToolRequest); ok && call.Params != nil && bytes.Contains(call.Params.Arguments, []byte("null")) {
			var args map[string]json.RawMessage
			if json.Unmarshal(call.Params.Arguments, &args) == nil {
				n := len(args)
				maps.DeleteFunc(args, func(_ string, v json.RawMessage) bool { return string(v) == "null" })
				if len(args) < n {
					if b, err := json.Marshal(args); err == nil {
						call.Params.Arguments = b
					}
				}
			}
		}
		return next(ctx, method, req)
	}
}

// dropEmptyChoices takes an optional argument restricted to listed values
// (send's type) given as "" for one left out, as the tool itself does.
// Some clients fill every argument they do not use with "", and the input
// schema, which lists the values, would refuse the call. A required one
// given as "" is left as it is, for explainArguments to name its values.
func dropEmptyChoices(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		call, ok := req.(*mcp.CallToolRequest)
		if !ok || call.Params == nil || !bytes.Contains(call.Params.Arguments, []byte(`""`)) {
			return next(ctx, method, req)
		}
		var args map[string]json.RawMessage
		if json.Unmarshal(call.Params.Arguments, &args) != nil {
			return next(ctx, method, req)
		}
		list, err := next(ctx, "tools/list", &mcp.ListToolsRequest{Session: call.Session, Params: &mcp.ListToolsParams{}})
		tools, ok := list.(*mcp.ListToolsResult)
		if err != nil || !ok {
			return next(ctx, method, req)
		}
		for _, tool := range tools.Tools {
			if tool.Name != call.Params.Name {
				continue
			}
			var s toolSchema
			if b, err := json.Marshal(tool.InputSchema); err == nil {
				json.Unmarshal(b, &s)
			}
			n := len(args)
			maps.DeleteFunc(args, func(k string, v json.RawMessage) bool {
				return string(v) == `""` && len(s.Properties[k].Enum) > 0 && !slices.Contains(s.Required, k)
			})
			if len(args) < n {
				if b, err := json.Marshal(args); err == nil {
					call.Params.Arguments = b
				}
			}
		}
		return next(ctx, method, req)
	}
}

// sdkUnmarshal begins the SDK's answer to arguments that fit the input
// schema but not the Go type they are read into: a number such as 1e30
// for an integer argument.
const sdkUnmarshal = "json: cannot unmarshal "

// sdkField finds the argument an sdkUnmarshal answer is about: "... into
// Go struct field tools.checkArgs.wait_seconds of type int".
var sdkField = regexp.MustCompile(`Go struct field (?:[\w]+\.)*(\w+) of type`)

// sdkBound finds a bound a number broke in the SDK's detail: "minimum: -1/1
// is less than 0.000000" (the number is a fraction, the bound a float).
var sdkBound = regexp.MustCompile(`(minimum|maximum): (-?\d+)/(\d+) is (?:less|greater) than (-?[\d.]+)`)

// argumentsDetail returns what the SDK's answer text says is wrong with a
// call's arguments, in words a model can act on, and whether the text is
// such an answer at all (not a tool's own error).
func argumentsDetail(text string) (string, bool) {
	switch {
	case strings.HasPrefix(text, sdkInvalid):
		detail := strings.TrimPrefix(text, sdkInvalid)
		return sdkBound.ReplaceAllStringFunc(detail, func(m string) string {
			g := sdkBound.FindStringSubmatch(m)
			got := g[2]
			if g[3] != "1" {
				got += "/" + g[3]
			}
			bound := g[4]
			if f, err := strconv.ParseFloat(bound, 64); err == nil {
				bound = strconv.FormatFloat(f, 'f', -1, 64)
			}
			if g[1] == "minimum" {
				return fmt.Sprintf("must be %s or more, got %s", bound, got)
			}
			return fmt.Sprintf("must be %s or less, got %s", bound, got)
		}), true
	case strings.HasPrefix(text, sdkUnmarshal):
		// The schema let it through, so it is a number out of the
		// range of its Go type, which the SDK words as a Go error.
		if g := sdkField.FindStringSubmatch(text); g != nil {
			return g[1] + ": the number is out of range: give a whole number of a sensible size", true
		}
		return "a number is out of range: give whole numbers of a sensible size", true
	}
	return "", false
}

// sdkPaths shortens the schema paths of the SDK's detail to argument
// names: "validating root: validating /properties/wait_seconds: type: ..."
// is "wait_seconds: type: ...".
var sdkPaths = strings.NewReplacer("validating root: ", "", "validating /properties/", "")

// toolSchema is the part of a tool's input schema that names its
// arguments.
type toolSchema struct {
	Properties map[string]struct {
		Type any   `json:"type"`
		Enum []any `json:"enum"`
	} `json:"properties"`
	Required []string `json:"required"`
}

// takenElsewhere names, for an argument a tool does not take, the tool
// that does take it, where a model plausibly gives it to the first: told
// only that register takes no "description", it registers without one
// and the description is lost.
var takenElsewhere = map[string]map[string]string{
	"register": {
		"description": "set_status sets a description once registered",
		"status":      "set_status sets a status line once registered",
	},
}

// wrongArguments says what is wrong with args for tool, as a model can act
// on it: the names it does not take (with the one likely meant), the ones
// it needs, or else the SDK's detail; then every argument it takes.
func wrongArguments(tool *mcp.Tool, args json.RawMessage, detail string) string {
	var s toolSchema
	if b, err := json.Marshal(tool.InputSchema); err == nil {
		json.Unmarshal(b, &s)
	}
	var given map[string]json.RawMessage
	json.Unmarshal(args, &given)
	names := slices.Sorted(maps.Keys(s.Properties))
	required := slices.Sorted(slices.Values(s.Required))

	var wrong []string
	for _, k := range slices.Sorted(maps.Keys(given)) {
		if _, ok := s.Properties[k]; ok {
			continue
		}
		w := fmt.Sprintf("%q", k)
		if other := takenElsewhere[tool.Name][k]; other != "" {
			w += fmt.Sprintf(" (%s)", other)
		} else if near := ipcmesh.Closest(k, names); near != "" {
			w += fmt.Sprintf(" (did you mean %q?)", near)
		}
		wrong = append(wrong, w)
	}
	var missing []string
	for _, k := range required {
		if _, ok := given[k]; !ok {
			missing = append(missing, fmt.Sprintf("%q", k))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "cannot run %s with these arguments: ", tool.Name)
	switch kind := notObject(args); {
	case kind != "":
		// The SDK's detail names the Go map it reads them into, and
		// with no names given every required one reads as missing.
		fmt.Fprintf(&b, "the arguments are %s, not a JSON object: give them as one, by name", kind)
	case len(wrong) > 0 || len(missing) > 0:
		var parts []string
		if len(wrong) > 0 {
			parts = append(parts, "it takes no "+strings.Join(wrong, ", no "))
		}
		if len(missing) > 0 {
			parts = append(parts, "it needs "+strings.Join(missing, " and "))
		}
		b.WriteString(strings.Join(parts, "; "))
	default:
		b.WriteString(typeDetail(choiceDetail(sdkPaths.Replace(detail), s), given))
	}
	if len(names) == 0 {
		b.WriteString(". It takes no arguments: call it with {}.")
		return b.String()
	}
	fmt.Fprintf(&b, ". Its arguments:")
	optional := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return slices.Contains(required, n) })
	for _, k := range append(required, optional...) {
		p := s.Properties[k]
		kind := fmt.Sprint(p.Type)
		if len(p.Enum) > 0 {
			values := make([]string, len(p.Enum))
			for i, v := range p.Enum {
				values[i] = fmt.Sprint(v)
			}
			kind += ": one of " + strings.Join(values, ", ")
		}
		if slices.Contains(required, k) {
			kind += ", required"
		}
		fmt.Fprintf(&b, " %s (%s)", k, kind)
		b.WriteString(",")
	}
	return strings.TrimSuffix(b.String(), ",") + "."
}

// sdkEnum finds a value outside an argument's choices in the SDK's
// detail, its paths shortened: "type: enum: req does not equal any of:
// [message request ...]".
var sdkEnum = regexp.MustCompile(`^(\w+): enum: (.*) does not equal any of: \[.*\]$`)

// choiceDetail words a value outside an argument's choices as a model can
// act on: the value quoted, the choices listed as words rather than as a
// Go slice, and the one likely meant ("req" for request). Any other
// detail is returned as it is.
func choiceDetail(detail string, s toolSchema) string {
	m := sdkEnum.FindStringSubmatch(detail)
	if m == nil || len(s.Properties[m[1]].Enum) == 0 {
		return detail
	}
	choices := make([]string, len(s.Properties[m[1]].Enum))
	for i, v := range s.Properties[m[1]].Enum {
		choices[i] = fmt.Sprint(v)
	}
	out := fmt.Sprintf("%s: %q is not one of %s", m[1], m[2], strings.Join(choices, ", "))
	if near := ipcmesh.Closest(m[2], choices); near != "" {
		out += fmt.Sprintf(" (did you mean %q?)", near)
	}
	return out
}

// sdkType finds a value of the wrong JSON type in the SDK's detail, its
// paths shortened: "wait_seconds: type: 5 has type \"string\", want
// \"integer\"", or for an item of a list "members: members/items: type:
// 1 has type ...". The SDK writes the value as Go prints it (map[text:hi]
// for an object), and a model that sent "5" reads "5 has type string" as
// nonsense.
var sdkType = regexp.MustCompile(`^(\w+): (?:[\w/]+/items: )?type: .* has type "(\w+)", want "(\w+)"$`)

// jsonKinds words JSON schema types for a model.
var jsonKinds = map[string]string{
	"string":  "a string",
	"integer": "a whole number",
	"number":  "a number",
	"boolean": "true or false",
	"array":   "a list",
	"object":  "an object",
	"null":    "null",
}

// typeDetail words a value of the wrong type as a model can act on: the
// value as it was sent, what the argument takes, and, where the value
// only wears the wrong quotes ("5" for 5, "alice" for ["alice"]), the
// value as it should be written. Any other detail is returned as it is.
func typeDetail(detail string, given map[string]json.RawMessage) string {
	m := sdkType.FindStringSubmatch(detail)
	if m == nil || given[m[1]] == nil {
		return detail
	}
	name, got, want := m[1], m[2], m[3]
	var compact bytes.Buffer
	if json.Compact(&compact, given[name]) != nil {
		return detail
	}
	sent := compact.String()
	if len(sent) > 60 {
		sent = strings.ToValidUTF8(sent[:57], "") + "..."
	}
	if strings.Contains(detail, "/items: ") {
		return fmt.Sprintf("%s: %s holds %s where every item must be %s", name, sent, article(got), jsonKinds[want])
	}
	out := fmt.Sprintf("%s: %s is %s, but it takes %s", name, sent, article(got), jsonKinds[want])
	var s string
	if got == "string" && json.Unmarshal(given[name], &s) == nil {
		s = strings.TrimSpace(s)
		switch want {
		case "integer":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				out += fmt.Sprintf(": write %d, without quotes", n)
			}
		case "number":
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				out += fmt.Sprintf(": write %s, without quotes", strconv.FormatFloat(f, 'f', -1, 64))
			}
		case "boolean":
			if v, err := strconv.ParseBool(s); err == nil {
				out += fmt.Sprintf(": write %t, without quotes", v)
			}
		case "array":
			if b, err := json.Marshal([]string{s}); err == nil {
				out += fmt.Sprintf(": write %s", b)
			}
		}
	}
	if want == "string" && (got == "integer" || got == "number" || got == "boolean") {
		out += fmt.Sprintf(": write %q, in quotes", sent)
	}
	return out
}

// article is the JSON type got with its article, as a model reads it:
// "a string", "a number" (for integer too), "an object".
func article(got string) string {
	switch got {
	case "integer", "number":
		return "a number"
	case "boolean":
		return "a boolean"
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "null":
		return "null"
	}
	return "a " + got
}

// notObject names the kind of JSON value args is when it is not an object
// ("a number", "a list"), and returns "" for an object, null or no
// arguments at all, which the SDK takes for none.
func notObject(args json.RawMessage) string {
	v := bytes.TrimSpace(args)
	if len(v) == 0 || v[0] == '{' || string(v) == "null" {
		return ""
	}
	switch v[0] {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return "a number"
	}
	return "not an object"
}
