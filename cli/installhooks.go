package cli

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// hookWaitTimeout is how long after an assistant stops an installed wait
// hook can wake it. Each stop starts a new waiter that supersedes the last.
const hookWaitTimeout = "1h"

// hookSpec is one hook handler ipcmesh installs for an event.
type hookSpec struct {
	event, matcher string
	kind           string // check or wait: what makes a handler ours
	handler        *object
}

// hookCommand is the shell command of a hook. The client runs hooks in
// its own environment, not the MCP server's, so the mesh settings go
// before the command (a POSIX shell's VAR=value prefix).
//
// On Windows, Claude Code runs hooks in Git Bash, a POSIX shell, but
// Gemini CLI runs them in PowerShell, which takes a quoted program name
// for a string, and the words after it for a syntax error, unless the
// call operator & comes first; and which sets the settings as statements
// of their own ($env:VAR='value';), each hook being a PowerShell of its
// own.
func (in installer) hookCommand(kind, format string, extra ...string) string {
	var words []string
	for _, v := range in.env {
		if in.powershell(format) {
			words = append(words, "$env:"+v.key+"="+powershellQuote(v.val)+";")
		} else {
			words = append(words, v.key+"="+shellQuote(v.val))
		}
	}
	if in.powershell(format) {
		words = append(words, "&", powershellQuote(in.exe))
	} else {
		words = append(words, shellQuote(in.exe))
	}
	words = append(words, "hook", kind, "--format", format)
	if in.name != "" {
		words = append(words, "--as", in.name)
	}
	return strings.Join(append(words, extra...), " ")
}

// claudeHooks: unread mail as context before each prompt and after each
// tool call (rate-limited by the auto-check interval), and a Stop hook that
// runs in the background and wakes Claude when mail arrives.
func (in installer) claudeHooks() []hookSpec {
	check := func() *object {
		h := newObject()
		h.set("type", "command")
		h.set("command", in.hookCommand("check", "claude"))
		h.set("timeout", json.Number("30"))
		return h
	}
	wait := newObject()
	wait.set("type", "command")
	wait.set("command", in.hookCommand("wait", "claude", "--timeout", hookWaitTimeout))
	wait.set("asyncRewake", true)
	wait.set("timeout", json.Number("3660"))
	return []hookSpec{
		{event: "UserPromptSubmit", kind: "check", handler: check()},
		{event: "PostToolUse", matcher: "*", kind: "check", handler: check()},
		{event: "Stop", kind: "wait", handler: wait},
	}
}

// geminiHooks: unread mail as context before each turn and after each tool
// call. Gemini CLI runs hooks synchronously, so a wait hook would freeze it:
// none is installed.
func (in installer) geminiHooks() []hookSpec {
	check := func(name string) *object {
		h := newObject()
		h.set("name", name)
		h.set("type", "command")
		h.set("command", in.hookCommand("check", "gemini"))
		h.set("timeout", json.Number("10000")) // milliseconds
		return h
	}
	return []hookSpec{
		{event: "BeforeAgent", kind: "check", handler: check("ipcmesh-check")},
		{event: "AfterTool", matcher: "*", kind: "check", handler: check("ipcmesh-check-after-tool")},
	}
}

// mergeHooks adds ipcmesh's hook handlers to doc's "hooks", or updates the
// ones already there (found by their command), leaving every other hook as
// it is.
func (in installer) mergeHooks(doc *object, specs []hookSpec) ([]string, error) {
	hooks, err := doc.child("hooks")
	if err != nil {
		return nil, err
	}
	var changes []string
	for _, spec := range specs {
		where := "hooks." + spec.event
		cur, _ := hooks.get(spec.event)
		groups, ok := asArray(cur)
		if !ok {
			return nil, fmt.Errorf("%q is not a list", where)
		}
		found := false
		for _, g := range groups.items {
			_, list := hookList(g)
			if list == nil {
				continue
			}
			for _, h := range list.items {
				handler, _ := h.(*object)
				if handler == nil || found {
					continue
				}
				cmd, _ := handler.get("command")
				if s, _ := cmd.(string); in.ownHook(s, spec.kind) {
					found = true
					changes = append(changes, mergeFields(handler, spec.handler, where)...)
				}
			}
		}
		if found {
			continue
		}
		group := newObject()
		if spec.matcher != "" {
			group.set("matcher", spec.matcher)
		}
		group.set("hooks", []any{spec.handler})
		groups.items = append(groups.items, group)
		hooks.set(spec.event, groups)
		cmd, _ := spec.handler.get("command")
		changes = append(changes, fmt.Sprintf("+ %s: %s", where, cmd))
	}
	return changes, nil
}

// hookList returns a hook group and its list of handlers, or nils when g
// is not a group with a list.
func hookList(g any) (*object, *array) {
	group, _ := g.(*object)
	if group == nil {
		return nil, nil
	}
	hs, _ := group.get("hooks")
	list, _ := asArray(hs)
	if list == nil {
		return nil, nil
	}
	return group, list
}

var ipcmeshHook = regexp.MustCompile(`(^|[/\\'"])ipcmesh(\.exe)?['"]?\s+hook\s+(check|wait)\b`)

// ownHook reports whether a hook command is ipcmesh's hook of kind: run
// by this binary, or by any binary called ipcmesh (a moved or reinstalled
// one).
func (in installer) ownHook(cmd, kind string) bool {
	// install writes the mesh's settings before the binary (IPC_PORT=...,
	// or in PowerShell $env:IPC_PORT='...';).
	for {
		m := shellAssignment.FindString(cmd)
		if m == "" {
			m = powershellAssignment.FindString(cmd)
		}
		if m == "" {
			break
		}
		cmd = cmd[len(m):]
	}
	cmd = strings.TrimPrefix(cmd, "& ") // PowerShell's call operator
	if strings.HasPrefix(cmd, shellQuote(in.exe)+" hook "+kind) || strings.HasPrefix(cmd, powershellQuote(in.exe)+" hook "+kind) {
		return true
	}
	m := ipcmeshHook.FindStringSubmatch(cmd)
	return m != nil && m[3] == kind
}

// shellAssignment matches one NAME=VALUE word at the start of a command,
// its value as shellQuote writes it, and the space after it.
var shellAssignment = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=('([^']|'\\'')*'|[^\s'"]*)\s+`)

// powershellAssignment matches one $env:NAME='VALUE'; statement at the
// start of a command, its value as powershellQuote writes it, and the
// space after it.
var powershellAssignment = regexp.MustCompile(`^\$env:[A-Za-z_][A-Za-z0-9_]*='([^']|'')*';\s+`)

// powershell reports whether the client of format runs hooks in
// PowerShell: Gemini CLI does on Windows.
func (in installer) powershell(format string) bool {
	return in.goos == "windows" && format == "gemini"
}

// powershellQuote quotes s as a PowerShell string that is taken as it is.
func powershellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
