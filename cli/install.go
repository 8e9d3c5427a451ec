package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh"
)

// Where each client keeps its MCP servers and hooks (checked against the
// clients themselves: `claude mcp add -s user|project` and
// `gemini mcp add -s user|project` write these files):
//
//	claude    user: ~/.claude.json "mcpServers"; hooks in ~/.claude/settings.json
//	          ($CLAUDE_CONFIG_DIR/.claude.json and $CLAUDE_CONFIG_DIR/settings.json
//	          when CLAUDE_CONFIG_DIR is set)
//	          project: ./.mcp.json "mcpServers"; hooks in ./.claude/settings.json
//	gemini    user: ~/.gemini/settings.json ($GEMINI_CLI_HOME/.gemini/settings.json
//	          when GEMINI_CLI_HOME is set); project: ./.gemini/settings.json;
//	          "mcpServers" and "hooks" in the same file
//	windsurf  user only: ~/.codeium/windsurf/mcp_config.json "mcpServers"
//	          (Cascade hooks can only log or block, not add context: none)

// serverKey is the name ipcmesh's entry has in every client's mcpServers.
const serverKey = "ipcmesh"

func runInstall(ctx context.Context, e Env, args []string) error {
	fs := flags("install")
	name := fs.String("name", "", "act as `NAME`: sets IPC_NAME for the MCP server and --as for the hooks")
	scope, dryRun := clientFlags(fs)
	noHooks := fs.Bool("no-hooks", false, "write the MCP server entry only")
	client, err := oneClient(fs, args)
	if err != nil {
		return err
	}
	if *name != "" {
		if err := ipcmesh.ValidateName(*name); err != nil {
			return usagef("--name: %v", err)
		}
	}
	exe := e.Self
	if exe == "" {
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find the path of this ipcmesh binary: %w", err)
		}
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	if goBuilt(e, exe) {
		msg := fmt.Sprintf("%s is a build that go run made for one run, in a folder Go empties as it likes: %s would start a program that is gone. Build ipcmesh where it stays and install with that one: %s",
			exe, clientTitle[client], buildToInstall(runtime.GOOS, args))
		if !*dryRun {
			return usagef("%s", msg)
		}
		fmt.Fprintf(e.Stderr, "ipcmesh install: %s; without --dry-run, install refuses it\n", msg)
	}
	env, err := meshEnv(e)
	if err != nil {
		return err
	}
	in := installer{exe: exe, name: *name, hooks: !*noHooks, env: env, goos: runtime.GOOS, getenv: e.Getenv}
	w := &errWriter{w: e.Stdout}
	changed, err := in.apply(w, client, *scope, *dryRun)
	if err != nil {
		return err
	}
	if *noHooks {
		in.staleHooks(w, client, *scope)
	}
	fmt.Fprint(w, in.describeEnv(e, clientTitle[client]))
	outcome(w, changed, *dryRun, fmt.Sprintf("ipcmesh is already installed for %s (%s scope): nothing changed.", client, *scope), clientTitle[client])
	if client == "gemini" {
		fmt.Fprintln(w, "Gemini CLI starts MCP servers only in a trusted folder: until you trust the folder you run it in (it asks; or /permissions), `gemini mcp list` shows ipcmesh as Disabled.")
	}
	if client == "claude" && *scope == "project" {
		fmt.Fprintln(w, "Claude Code starts the MCP servers of a project's .mcp.json only once you approve them: start claude in this folder and choose to use ipcmesh; until then `claude mcp list` shows it as Pending approval.")
	}
	return w.err
}

// staleHooks says which ipcmesh hooks of an earlier install, left as they
// are by --no-hooks, act otherwise than the server entry just written: as
// another name, or on another mesh. They run at every prompt all the same,
// and nothing else would tell.
func (in installer) staleHooks(w io.Writer, client, scope string) {
	all := in
	all.hooks = true
	base, err := scopeFolder(scope)
	if err != nil {
		return
	}
	edits, err := all.plan(client, scope, base)
	if err != nil {
		return
	}
	for _, ed := range edits {
		p, err := ed.prepare(io.Discard, false)
		if err != nil || p == nil {
			continue
		}
		var stale []string
		for _, c := range p.changes {
			if strings.HasPrefix(c, "~ hooks.") && strings.Contains(c, ".command: ") {
				stale = append(stale, c)
			}
		}
		if len(stale) == 0 {
			continue
		}
		fmt.Fprintf(w, "%s keeps ipcmesh hooks of an earlier install, left as they are (--no-hooks), which do not act as the server entry now does:\n", ed.path)
		for _, c := range stale {
			fmt.Fprintf(w, "  %s\n", c)
		}
		fmt.Fprintf(w, "Run install without --no-hooks to bring them in line, or ipcmesh uninstall %s and install again with --no-hooks to take them out.\n", client)
	}
}

// clientFlags declares the flags install and uninstall share.
func clientFlags(fs *flag.FlagSet) (scope *string, dryRun *bool) {
	scope = fs.String("scope", "user", "`SCOPE`: user (your home folder) or project (the current folder)")
	dryRun = fs.Bool("dry-run", false, "say what would change and write nothing")
	return scope, dryRun
}

// oneClient parses args with fs and returns the one client they name.
func oneClient(fs *flag.FlagSet, args []string) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	switch {
	case len(pos) == 0:
		return "", usagef("%s needs one client: claude, gemini or windsurf", fs.Name())
	case len(pos) > 1:
		// "needs one client" to a line that names two (or a client and
		// a stray word) told nothing: the words are named instead.
		return "", usagef("%s takes one client at a time, not %s: run it once for each", fs.Name(), strings.Join(pos, " "))
	}
	return pos[0], nil
}

// buildToInstall says, in the words of the shells of goos, how to build
// an ipcmesh that stays and run install with args with it. On Windows the
// binary needs its .exe to be run, cmd runs no ./ path, Windows
// PowerShell has no &&, and neither reads $(...) or single quotes.
func buildToInstall(goos string, args []string) string {
	words := make([]string, len(args))
	if goos == "windows" {
		for i, a := range args {
			words[i] = a
			if a == "" || strings.ContainsAny(a, " \t\"&|<>^%;,'`$") {
				words[i] = `"` + a + `"`
			}
		}
		return fmt.Sprintf(`go build -o ipcmesh.exe ./cmd/ipcmesh, then .\ipcmesh.exe install %s (or go install ./cmd/ipcmesh, and the ipcmesh.exe it puts in the bin folder of go env GOPATH, %%USERPROFILE%%\go\bin by default)`, strings.Join(words, " "))
	}
	for i, a := range args {
		words[i] = shellQuote(a)
	}
	return fmt.Sprintf("go build -o ipcmesh ./cmd/ipcmesh && ./ipcmesh install %s (or go install ./cmd/ipcmesh, and the ipcmesh it puts in $(go env GOPATH)/bin)", strings.Join(words, " "))
}

// goBuilt reports whether exe is a binary the go command built for one
// run (go run, or go test's), which a config must not point at: Go deletes
// its temporary build folder when the run ends, and trims its build cache,
// where go run keeps binaries too, when it likes. Both are go-build
// folders by default; a cache elsewhere is the one GOCACHE names, or one
// set with go env -w, known by how the cache lays files out (XX/HASH-d/NAME).
func goBuilt(e Env, exe string) bool {
	dir := filepath.Dir(exe)
	for d := dir; ; d = filepath.Dir(d) {
		base := filepath.Base(d)
		if digits, ok := strings.CutPrefix(base, "go-build"); ok && strings.Trim(digits, "0123456789") == "" {
			return true
		}
		if filepath.Dir(d) == d {
			break
		}
	}
	if cache := e.Getenv("GOCACHE"); cache != "" && cache != "off" {
		if rel, err := filepath.Rel(cache, exe); err == nil && filepath.IsLocal(rel) {
			return true
		}
	}
	return cacheEntry.MatchString(filepath.Base(dir)) && cacheShard.MatchString(filepath.Base(filepath.Dir(dir)))
}

var (
	cacheEntry = regexp.MustCompile(`^[0-9a-f]{64}-d$`)
	cacheShard = regexp.MustCompile(`^[0-9a-f]{2}$`)
)

// apply makes the edits of client's config at scope, for install or (with
// in.remove) uninstall, and reports how many changes they made.
func (in installer) apply(w io.Writer, client, scope string, dryRun bool) (int, error) {
	base, err := scopeFolder(scope)
	if err != nil {
		return 0, err
	}
	edits, err := in.plan(client, scope, base)
	if err != nil {
		return 0, err
	}
	if scope == "user" {
		if dir, name := in.clientHome(client); name != "" {
			fmt.Fprintf(w, "%s is set: %s keeps its user settings under %s.\n", name, clientTitle[client], dir)
		}
	}
	return runEdits(w, edits, dryRun, !in.remove)
}

// outcome ends the output of install or uninstall: none when nothing
// changed, else what to do next.
func outcome(w io.Writer, changed int, dryRun bool, none, client string) {
	switch {
	case changed == 0:
		fmt.Fprintln(w, none)
	case dryRun:
		fmt.Fprintln(w, "Dry run: nothing was written.")
	default:
		fmt.Fprintf(w, "Restart %s (or reload its MCP servers) to pick the changes up.\n", client)
	}
}

// scopeFolder is the folder a scope's config files are under: the home
// folder (user) or the current one (project).
func scopeFolder(scope string) (string, error) {
	var base string
	var err error
	switch scope {
	case "user":
		base, err = os.UserHomeDir()
	case "project":
		base, err = os.Getwd()
	default:
		return "", usagef("--scope %q: want user or project", scope)
	}
	if err != nil {
		return "", fmt.Errorf("find the folder of the %s scope: %w", scope, err)
	}
	return base, nil
}

var clientTitle = map[string]string{"claude": "Claude Code", "gemini": "Gemini CLI", "windsurf": "Windsurf"}

// installer knows what ipcmesh's entries look like in each client.
type installer struct {
	exe    string // absolute path of this binary
	name   string // --name, or ""
	hooks  bool
	env    []envVar // the mesh settings of install's environment
	remove bool     // uninstall: take ipcmesh's entries out
	goos   string   // the system the hooks run on: runtime.GOOS
	// getenv reads the environment the command runs in, for the
	// variables that move a client's user settings.
	getenv func(string) string
}

// clientHome returns the folder a variable of the environment moves
// client's user settings to, and that variable's name; "" when none is
// set. The client is taken to run with the environment install runs in,
// as `claude mcp add -s user` and `gemini mcp add -s user` do.
func (in installer) clientHome(client string) (dir, name string) {
	if in.getenv == nil {
		return "", ""
	}
	switch client {
	case "claude":
		name = "CLAUDE_CONFIG_DIR"
	case "gemini":
		name = "GEMINI_CLI_HOME" // the folder its .gemini is in
	default:
		return "", ""
	}
	dir = in.getenv(name)
	if dir == "" {
		return "", ""
	}
	// The client takes a relative one from the folder it starts in: this
	// one, as far as install can tell.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	return dir, name
}

// plan lists the files of client's config at scope (base is the home or
// the project folder) and what install, or uninstall, does to each.
func (in *installer) plan(client, scope, base string) ([]configEdit, error) {
	shared := scope == "project"
	// The server entry is merged first, and the hooks are made after it
	// (by closures: a method value would copy in before the merge), so
	// that a name the entry keeps (no --name this time) is theirs too.
	server := func(doc *object) ([]string, error) {
		if in.remove {
			return removeServer(doc), nil
		}
		return in.mergeServer(doc, client)
	}
	hooks := func(specs func() []hookSpec) func(*object) ([]string, error) {
		return func(doc *object) ([]string, error) {
			if in.remove {
				return in.removeHooks(doc), nil
			}
			return in.mergeHooks(doc, specs())
		}
	}
	switch client {
	case "claude":
		mcpFile := filepath.Join(base, ".claude.json")
		settings := filepath.Join(base, ".claude", "settings.json")
		if scope == "project" {
			mcpFile = filepath.Join(base, ".mcp.json")
		} else if dir, _ := in.clientHome(client); dir != "" {
			// Claude Code moves both there, and reads none of the two in
			// the home folder.
			mcpFile, settings = filepath.Join(dir, ".claude.json"), filepath.Join(dir, "settings.json")
		}
		edits := []configEdit{{path: mcpFile, shared: shared, merge: server}}
		if in.hooks {
			edits = append(edits, configEdit{
				path: settings, shared: shared,
				merge: hooks(func() []hookSpec { return in.claudeHooks() }),
			})
		}
		return edits, nil
	case "gemini":
		geminiHooks := hooks(func() []hookSpec { return in.geminiHooks() })
		if dir, _ := in.clientHome(client); dir != "" && scope == "user" {
			base = dir
		}
		return []configEdit{{
			path: filepath.Join(base, ".gemini", "settings.json"), shared: shared, comments: true,
			merge: func(doc *object) ([]string, error) {
				changes, err := server(doc)
				if err != nil || !in.hooks {
					return changes, err
				}
				more, err := geminiHooks(doc)
				return append(changes, more...), err
			},
		}}, nil
	case "windsurf":
		if scope == "project" {
			return nil, usagef("Windsurf keeps MCP servers only in ~/.codeium/windsurf/mcp_config.json: use --scope user")
		}
		return []configEdit{{path: filepath.Join(base, ".codeium", "windsurf", "mcp_config.json"), shared: shared, merge: server}}, nil
	}
	return nil, usagef("unknown client %q: want claude, gemini or windsurf", client)
}

// server is ipcmesh's entry in a client's mcpServers.
func (in installer) server(client string) *object {
	s := newObject()
	if client == "claude" {
		s.set("type", "stdio") // what `claude mcp add` writes
	}
	s.set("command", in.exe)
	s.set("args", []any{"mcp"})
	env := newObject()
	if in.name != "" {
		env.set("IPC_NAME", in.name)
	}
	for _, v := range in.env {
		env.set(v.key, v.val)
	}
	if len(env.keys) > 0 {
		s.set("env", env)
	}
	return s
}

// mergeServer adds or updates ipcmesh's entry in mcpServers. Fields the
// user added to the entry (more env variables, "trust", a timeout) stay;
// without --name an IPC_NAME already there stays too, and becomes the
// name the hooks act as. The settings that say which mesh (IPC_HOST,
// IPC_PORT, IPC_DATA_DIR) are this environment's, as for the hooks: one
// an earlier install wrote that is not set now goes.
func (in *installer) mergeServer(doc *object, client string) ([]string, error) {
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
	changes := mergeFields(entry, want, where)
	if env, ok := entry.get("env"); ok {
		if env, ok := env.(*object); ok {
			if in.name == "" {
				if n, ok := env.get("IPC_NAME"); ok {
					if n, ok := n.(string); ok && ipcmesh.ValidateName(n) == nil {
						in.name = n
					}
				}
			}
			for _, k := range meshKeys {
				if v, ok := env.get(k); ok && !slices.ContainsFunc(in.env, func(e envVar) bool { return e.key == k }) {
					env.remove(k)
					changes = append(changes, fmt.Sprintf("- %s.env.%s: %s (not set here)", where, k, compactJSON(v)))
				}
			}
		}
	}
	return changes, nil
}

func describeServer(s *object) string {
	cmd, _ := s.get("command")
	d := fmt.Sprintf("%v mcp", cmd)
	if env, ok := s.get("env"); ok {
		o := env.(*object)
		words := make([]string, len(o.keys))
		for i, k := range o.keys {
			words[i] = fmt.Sprintf("%s=%v", k, o.vals[k])
		}
		d += " (" + strings.Join(words, " ") + ")"
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
