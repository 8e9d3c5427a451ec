package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/atomicfile"
)

// Where each client keeps its MCP servers and hooks (checked against the
// clients themselves: `claude mcp add -s user|project` and
// `gemini mcp add -s user|project` write these files):
//
//	claude    user: ~/.claude.json "mcpServers"; hooks in ~/.claude/settings.json
//	          project: ./.mcp.json "mcpServers"; hooks in ./.claude/settings.json
//	gemini    user: ~/.gemini/settings.json; project: ./.gemini/settings.json;
//	          "mcpServers" and "hooks" in the same file
//	windsurf  user only: ~/.codeium/windsurf/mcp_config.json "mcpServers"
//	          (Cascade hooks can only log or block, not add context: none)

// serverKey is the name ipcmesh's entry has in every client's mcpServers.
const serverKey = "ipcmesh"

// hookWaitTimeout is how long after an assistant stops an installed wait
// hook can wake it. Each stop starts a new waiter that supersedes the last.
const hookWaitTimeout = "1h"

func runInstall(ctx context.Context, e Env, args []string) error {
	fs := flags("install")
	name := fs.String("name", "", "act as `NAME`: sets IPC_NAME for the MCP server and --as for the hooks")
	scope := fs.String("scope", "user", "`SCOPE`: user (your home folder) or project (the current folder)")
	dryRun := fs.Bool("dry-run", false, "say what would change and write nothing")
	noHooks := fs.Bool("no-hooks", false, "write the MCP server entry only")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("install needs one client: claude, gemini or windsurf")
	}
	if *name != "" {
		if err := ipcmesh.ValidateName(*name); err != nil {
			return usagef("--name: %v", err)
		}
	}
	if *scope != "user" && *scope != "project" {
		return usagef("--scope %q: want user or project", *scope)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the path of this ipcmesh binary: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	base, err := os.UserHomeDir()
	if *scope == "project" {
		base, err = os.Getwd()
	}
	if err != nil {
		return fmt.Errorf("find the folder to install into: %w", err)
	}
	in := installer{exe: exe, name: *name, hooks: !*noHooks}
	edits, err := in.plan(pos[0], *scope, base)
	if err != nil {
		return err
	}

	w := &errWriter{w: e.Stdout}
	changed := 0
	for _, ed := range edits {
		n, err := ed.run(w, *dryRun)
		if err != nil {
			return err
		}
		changed += n
	}
	switch {
	case changed == 0:
		fmt.Fprintf(w, "ipcmesh is already installed for %s (%s scope): nothing changed.\n", pos[0], *scope)
	case *dryRun:
		fmt.Fprintln(w, "Dry run: nothing was written.")
	default:
		fmt.Fprintf(w, "Restart %s (or reload its MCP servers) to pick the changes up.\n", clientTitle[pos[0]])
	}
	return w.err
}

var clientTitle = map[string]string{"claude": "Claude Code", "gemini": "Gemini CLI", "windsurf": "Windsurf"}

// installer knows what ipcmesh's entries look like in each client.
type installer struct {
	exe   string // absolute path of this binary
	name  string // --name, or ""
	hooks bool
}

// configEdit is one config file and what to merge into it.
type configEdit struct {
	path string
	// shared files (project scope) are created readable by all, like the
	// rest of a project; a user's own are created private.
	shared bool
	merge  func(doc *object) ([]string, error)
}

func (in installer) plan(client, scope, base string) ([]configEdit, error) {
	shared := scope == "project"
	mcp := func(doc *object) ([]string, error) { return in.mergeServer(doc, client) }
	switch client {
	case "claude":
		mcpFile := filepath.Join(base, ".claude.json")
		if scope == "project" {
			mcpFile = filepath.Join(base, ".mcp.json")
		}
		edits := []configEdit{{path: mcpFile, shared: shared, merge: mcp}}
		if in.hooks {
			edits = append(edits, configEdit{
				path: filepath.Join(base, ".claude", "settings.json"), shared: shared,
				merge: func(doc *object) ([]string, error) { return in.mergeHooks(doc, in.claudeHooks()) },
			})
		}
		return edits, nil
	case "gemini":
		return []configEdit{{
			path: filepath.Join(base, ".gemini", "settings.json"), shared: shared,
			merge: func(doc *object) ([]string, error) {
				changes, err := mcp(doc)
				if err != nil || !in.hooks {
					return changes, err
				}
				more, err := in.mergeHooks(doc, in.geminiHooks())
				return append(changes, more...), err
			},
		}}, nil
	case "windsurf":
		if scope == "project" {
			return nil, usagef("Windsurf keeps MCP servers only in ~/.codeium/windsurf/mcp_config.json: use --scope user")
		}
		return []configEdit{{path: filepath.Join(base, ".codeium", "windsurf", "mcp_config.json"), shared: shared, merge: mcp}}, nil
	}
	return nil, usagef("unknown client %q: want claude, gemini or windsurf", client)
}

// run merges the edit into its file (or, for a dry run, only says what it
// would change) and reports how many changes there were.
func (ed configEdit) run(w io.Writer, dryRun bool) (int, error) {
	old, err := os.ReadFile(ed.path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("read %s: %w", ed.path, err)
	}
	doc := newObject()
	if exists && len(bytes.TrimSpace(old)) > 0 {
		v, err := decodeJSON(old)
		if err != nil {
			return 0, fmt.Errorf("%s is not plain JSON (%v): nothing was changed; fix it, or add ipcmesh by hand", ed.path, err)
		}
		var ok bool
		if doc, ok = v.(*object); !ok {
			return 0, fmt.Errorf("%s does not hold a JSON object: nothing was changed", ed.path)
		}
	}
	changes, err := ed.merge(doc)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: nothing was changed", ed.path, err)
	}
	if len(changes) == 0 {
		fmt.Fprintf(w, "%s: already up to date\n", ed.path)
		return 0, nil
	}
	switch {
	case dryRun && exists:
		fmt.Fprintf(w, "would update %s:\n", ed.path)
	case dryRun:
		fmt.Fprintf(w, "would create %s:\n", ed.path)
	case exists:
		fi, err := os.Stat(ed.path)
		if err == nil {
			err = writeConfig(ed.path, old, doc, fi.Mode().Perm())
		}
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "updated %s (the previous version is in %s.bak):\n", ed.path, filepath.Base(ed.path))
	default:
		fileMode, dirMode := fs.FileMode(0o600), fs.FileMode(0o700)
		if ed.shared {
			fileMode, dirMode = 0o644, 0o755
		}
		if err := os.MkdirAll(filepath.Dir(ed.path), dirMode); err != nil {
			return 0, fmt.Errorf("create %s: %w", filepath.Dir(ed.path), err)
		}
		if err := writeConfig(ed.path, nil, doc, fileMode); err != nil {
			return 0, err
		}
		fmt.Fprintf(w, "created %s:\n", ed.path)
	}
	for _, c := range changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
	return len(changes), nil
}

// writeConfig replaces path with doc, atomically, with the given mode,
// keeping the previous content (old, nil for a new file) in path.bak.
func writeConfig(path string, old []byte, doc *object, mode fs.FileMode) error {
	data, err := encodeJSON(doc)
	if err != nil {
		return err
	}
	if old != nil {
		if err := os.WriteFile(path+".bak", old, mode); err != nil {
			return fmt.Errorf("keep a backup of %s: %w", path, err)
		}
	}
	if err := atomicfile.Write(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// server is ipcmesh's entry in a client's mcpServers.
func (in installer) server(client string) *object {
	s := newObject()
	if client == "claude" {
		s.set("type", "stdio") // what `claude mcp add` writes
	}
	s.set("command", in.exe)
	s.set("args", []any{"mcp"})
	if in.name != "" {
		env := newObject()
		env.set("IPC_NAME", in.name)
		s.set("env", env)
	}
	return s
}

// mergeServer adds or updates ipcmesh's entry in mcpServers. Fields the
// user added to the entry (more env variables, "trust", a timeout) stay;
// without --name an IPC_NAME already there stays too.
func (in installer) mergeServer(doc *object, client string) ([]string, error) {
	servers, err := doc.child("mcpServers")
	if err != nil {
		return nil, err
	}
	want := in.server(client)
	where := "mcpServers." + serverKey
	cur, ok := servers.get(serverKey)
	entry, isObj := cur.(*object)
	if !ok || !isObj {
		servers.set(serverKey, want)
		if ok {
			return []string{fmt.Sprintf("~ %s: %s (it was not an object)", where, describeServer(want))}, nil
		}
		return []string{fmt.Sprintf("+ %s: %s", where, describeServer(want))}, nil
	}
	return mergeFields(entry, want, where), nil
}

func describeServer(s *object) string {
	cmd, _ := s.get("command")
	d := fmt.Sprintf("%v mcp", cmd)
	if env, ok := s.get("env"); ok {
		if n, ok := env.(*object).get("IPC_NAME"); ok {
			d += fmt.Sprintf(" (IPC_NAME=%v)", n)
		}
	}
	return d
}

// mergeFields sets want's fields in have, one level of objects deep (so
// an env object gains variables without losing the user's), and says what
// it changed.
func mergeFields(have, want *object, where string) []string {
	var changes []string
	for _, k := range want.keys {
		w := want.vals[k]
		h, ok := have.get(k)
		if wo, isObj := w.(*object); isObj {
			if ho, isObj := h.(*object); ok && isObj {
				changes = append(changes, mergeFields(ho, wo, where+"."+k)...)
				continue
			}
		}
		if ok && sameJSON(h, w) {
			continue
		}
		have.set(k, w)
		if ok {
			changes = append(changes, fmt.Sprintf("~ %s.%s: %s -> %s", where, k, compactJSON(h), compactJSON(w)))
		} else {
			changes = append(changes, fmt.Sprintf("+ %s.%s: %s", where, k, compactJSON(w)))
		}
	}
	return changes
}

// hookSpec is one hook handler ipcmesh installs for an event.
type hookSpec struct {
	event, matcher string
	kind           string // check or wait: what makes a handler ours
	handler        *object
}

func (in installer) hookCommand(kind, format string, extra ...string) string {
	words := []string{shellQuote(in.exe), "hook", kind, "--format", format}
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
		groups, ok := cur.([]any)
		if cur != nil && !ok {
			return nil, fmt.Errorf("%q is not a list", where)
		}
		found := false
		for _, g := range groups {
			group, _ := g.(*object)
			if group == nil {
				continue
			}
			hs, _ := group.get("hooks")
			list, _ := hs.([]any)
			for _, h := range list {
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
		hooks.set(spec.event, append(groups, group))
		cmd, _ := spec.handler.get("command")
		changes = append(changes, fmt.Sprintf("+ %s: %s", where, cmd))
	}
	return changes, nil
}

var ipcmeshHook = regexp.MustCompile(`(^|[/\\'"])ipcmesh(\.exe)?['"]?\s+hook\s+(check|wait)\b`)

// ownHook reports whether a hook command is ipcmesh's hook of kind: run
// by this binary, or by any binary called ipcmesh (a moved or reinstalled
// one).
func (in installer) ownHook(cmd, kind string) bool {
	if strings.HasPrefix(cmd, shellQuote(in.exe)+" hook "+kind) {
		return true
	}
	m := ipcmeshHook.FindStringSubmatch(cmd)
	return m != nil && m[3] == kind
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:@+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
