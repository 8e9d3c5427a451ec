package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// installHome points HOME at a fresh folder, and the current folder at
// another, so that nothing outside the test is touched.
func installHome(t *testing.T) (home, cwd string) {
	t.Helper()
	home, cwd = t.TempDir(), t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home) // os.UserHomeDir on Windows
	t.Chdir(cwd)
	return home, cwd
}

func install(t *testing.T, args ...string) hookResult {
	t.Helper()
	return runBare(t, "install", args...)
}

// runBare runs a command in-process with an empty environment, as the
// program testExe.
func runBare(t *testing.T, name string, args ...string) hookResult {
	t.Helper()
	var out, errb testbin.Buffer
	e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Self: testExe(t)}
	code := Run(e, name, args)
	return hookResult{code, out.String(), errb.String()}
}

func mustInstall(t *testing.T, args ...string) string {
	t.Helper()
	r := install(t, args...)
	if r.code != 0 {
		t.Fatalf("install %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s: %v\n%s", path, err, data)
	}
	return v
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// at walks v along keys (object keys, or list indexes as ints).
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not an object", path, v)
			}
			v = m[k]
		case int:
			a, ok := v.([]any)
			if !ok || k >= len(a) {
				t.Fatalf("at %v: %v has no element %d", path, v, k)
			}
			v = a[k]
		}
	}
	return v
}

// testExe is the ipcmesh binary the tests install: one where a user would
// keep it. The test binary is no such binary: go test builds it in a
// folder it deletes, and install refuses it.
func testExe(t *testing.T) string {
	t.Helper()
	exe, err := filepath.Abs(filepath.FromSlash("/opt/ipcmesh/bin/ipcmesh"))
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

func TestInstallClaudeIntoEmptyHome(t *testing.T) {
	home, cwd := installHome(t)
	exe := testExe(t)
	out := mustInstall(t, "claude", "--name", "builder")

	cfg := readJSON(t, filepath.Join(home, ".claude.json"))
	want := map[string]any{
		"type": "stdio", "command": exe, "args": []any{"mcp"},
		"env": map[string]any{"IPC_NAME": "builder"},
	}
	if got := at(t, cfg, "mcpServers", "ipcmesh"); !reflect.DeepEqual(got, want) {
		t.Errorf("mcpServers.ipcmesh = %v, want %v", got, want)
	}
	settings := readJSON(t, filepath.Join(home, ".claude", "settings.json"))
	check := shellQuote(exe) + " hook check --format claude --as builder"
	if got := at(t, settings, "hooks", "UserPromptSubmit", 0, "hooks", 0, "command"); got != check {
		t.Errorf("UserPromptSubmit command = %v, want %v", got, check)
	}
	if got := at(t, settings, "hooks", "PostToolUse", 0, "hooks", 0, "command"); got != check {
		t.Errorf("PostToolUse command = %v, want %v", got, check)
	}
	stop := at(t, settings, "hooks", "Stop", 0, "hooks", 0).(map[string]any)
	if stop["command"] != shellQuote(exe)+" hook wait --format claude --as builder --timeout 1h" || stop["asyncRewake"] != true || stop["type"] != "command" {
		t.Errorf("Stop hook = %v, want hook wait run with asyncRewake", stop)
	}
	for _, f := range []string{".claude.json", ".claude/settings.json"} {
		if !strings.Contains(out, filepath.Join(home, f)) {
			t.Errorf("output does not name %s:\n%s", f, out)
		}
	}
	if !strings.Contains(out, "+ mcpServers.ipcmesh: "+exe+" mcp (IPC_NAME=builder)") || !strings.Contains(out, "+ hooks.Stop: ") {
		t.Errorf("output does not say what changed:\n%s", out)
	}
	if runtime.GOOS != "windows" {
		for _, f := range []string{".claude.json", ".claude/settings.json"} {
			if fi, err := os.Stat(filepath.Join(home, f)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v (%v), want 600", f, fi.Mode().Perm(), err)
			}
		}
	}
	if entries, _ := os.ReadDir(cwd); len(entries) != 0 {
		t.Errorf("user scope wrote %d entries into the current folder", len(entries))
	}
}

func TestInstallKeepsTheUsersOtherEntries(t *testing.T) {
	home, _ := installHome(t)
	claudeJSON := `{
  "numStartups": 12,
  "projects": {"/src/app": {"mcpServers": {"local": {"command": "x"}}, "allowedTools": []}},
  "mcpServers": {
    "github": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"TOKEN": "t&k<1>"}},
    "ipcmesh": {"command": "/old/bin/ipcmesh", "args": ["mcp"], "env": {"IPC_LOG": "debug"}, "timeout": 5000}
  },
  "big": 12345678901234567890,
  "tipsHistory": {"a": 1.50}
}
`
	settingsJSON := `{
  "permissions": {"allow": ["Bash(go test:*)"]},
  "hooks": {
    "PostToolUse": [{"matcher": "Edit|Write", "hooks": [{"type": "command", "command": "make lint && echo ok > /dev/null"}]}],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done", "timeout": 5}]}],
    "UserPromptSubmit": [{"hooks": [{"type": "command", "command": "/old/bin/ipcmesh hook check --format claude", "statusMessage": "mail?"}]}]
  },
  "model": "opus"
}
`
	claudePath := filepath.Join(home, ".claude.json")
	settingsPath := filepath.Join(home, ".claude", "settings.json")
	writeFile(t, claudePath, claudeJSON)
	writeFile(t, settingsPath, settingsJSON)
	before, beforeSettings := readJSON(t, claudePath), readJSON(t, settingsPath)

	exe := testExe(t)
	out := mustInstall(t, "claude")

	after := readJSON(t, claudePath)
	entry := at(t, after, "mcpServers", "ipcmesh").(map[string]any)
	wantEntry := map[string]any{
		"type": "stdio", "command": exe, "args": []any{"mcp"},
		"env": map[string]any{"IPC_LOG": "debug"}, "timeout": 5000.0,
	}
	if !reflect.DeepEqual(entry, wantEntry) {
		t.Errorf("ipcmesh entry = %v, want the command updated and the user's fields kept: %v", entry, wantEntry)
	}
	// Everything else is exactly as it was.
	delete(at(t, after, "mcpServers").(map[string]any), "ipcmesh")
	delete(at(t, before, "mcpServers").(map[string]any), "ipcmesh")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("~/.claude.json beyond the ipcmesh entry changed:\nbefore %v\nafter  %v", before, after)
	}
	raw, _ := os.ReadFile(claudePath)
	for _, keep := range []string{`"big": 12345678901234567890`, `"a": 1.50`, `"TOKEN": "t&k<1>"`} {
		if !bytes.Contains(raw, []byte(keep)) {
			t.Errorf("~/.claude.json lost %s verbatim:\n%s", keep, raw)
		}
	}
	if i, j := bytes.Index(raw, []byte(`"numStartups"`)), bytes.Index(raw, []byte(`"tipsHistory"`)); i < 0 || j < i {
		t.Errorf("key order changed:\n%s", raw)
	}
	if bak, err := os.ReadFile(claudePath + ".bak"); err != nil || string(bak) != claudeJSON {
		t.Errorf("backup of ~/.claude.json = %q (%v), want the previous file", bak, err)
	}

	settings := readJSON(t, settingsPath)
	// Our handlers: the old UserPromptSubmit one updated in place (its
	// statusMessage kept), new groups appended after the user's.
	ups := at(t, settings, "hooks", "UserPromptSubmit").([]any)
	if len(ups) != 1 {
		t.Fatalf("UserPromptSubmit has %d groups, want the old ipcmesh one updated, not a second", len(ups))
	}
	wantCheck := shellQuote(exe) + " hook check --format claude"
	if h := at(t, ups, 0, "hooks", 0).(map[string]any); h["command"] != wantCheck || h["statusMessage"] != "mail?" {
		t.Errorf("updated UserPromptSubmit handler = %v", h)
	}
	post := at(t, settings, "hooks", "PostToolUse").([]any)
	stop := at(t, settings, "hooks", "Stop").([]any)
	if len(post) != 2 || len(stop) != 2 {
		t.Fatalf("PostToolUse has %d groups and Stop %d, want the user's one and ours in each", len(post), len(stop))
	}
	origHooks := at(t, beforeSettings, "hooks").(map[string]any)
	if !reflect.DeepEqual(post[0], at(t, origHooks, "PostToolUse", 0)) || !reflect.DeepEqual(stop[0], at(t, origHooks, "Stop", 0)) {
		t.Errorf("the user's hooks changed: %v, %v", post[0], stop[0])
	}
	delete(settings, "hooks")
	delete(beforeSettings, "hooks")
	if !reflect.DeepEqual(settings, beforeSettings) {
		t.Errorf("settings beyond hooks changed:\nbefore %v\nafter  %v", beforeSettings, settings)
	}
	rawSettings, _ := os.ReadFile(settingsPath)
	if !bytes.Contains(rawSettings, []byte(`make lint && echo ok > /dev/null`)) {
		t.Errorf("a hook command was escaped:\n%s", rawSettings)
	}
	if !strings.Contains(out, "~ mcpServers.ipcmesh.command: \"/old/bin/ipcmesh\" -> ") || !strings.Contains(out, "+ mcpServers.ipcmesh.type: \"stdio\"") {
		t.Errorf("output does not say what changed:\n%s", out)
	}
}

func TestInstallTwiceChangesNothing(t *testing.T) {
	home, _ := installHome(t)
	writeFile(t, filepath.Join(home, ".claude.json"), `{"mcpServers": {"other": {"command": "x"}}}`)
	mustInstall(t, "claude", "--name", "builder")
	files := []string{".claude.json", ".claude.json.bak", ".claude/settings.json"}
	snapshot := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(home, f))
		if err != nil {
			t.Fatal(err)
		}
		snapshot[f] = string(b)
	}
	out := mustInstall(t, "claude", "--name", "builder")
	if !strings.Contains(out, "nothing changed") || strings.Contains(out, "updated") || strings.Contains(out, "created") {
		t.Errorf("second install output:\n%s", out)
	}
	for _, f := range files {
		if b, _ := os.ReadFile(filepath.Join(home, f)); string(b) != snapshot[f] {
			t.Errorf("%s changed on the second install", f)
		}
	}
	// A new name is a change, and only the name changes.
	out = mustInstall(t, "claude", "--name", "reviewer")
	if !strings.Contains(out, `~ mcpServers.ipcmesh.env.IPC_NAME: "builder" -> "reviewer"`) {
		t.Errorf("renaming install output:\n%s", out)
	}
	settings := readJSON(t, filepath.Join(home, ".claude", "settings.json"))
	for _, ev := range []string{"UserPromptSubmit", "PostToolUse", "Stop"} {
		groups := at(t, settings, "hooks", ev).([]any)
		cmd := at(t, groups, 0, "hooks", 0, "command").(string)
		if len(groups) != 1 || !strings.HasSuffix(strings.TrimSuffix(cmd, " --timeout 1h"), "--as reviewer") {
			t.Errorf("%s after renaming: %v", ev, groups)
		}
	}
}

func TestInstallDryRunWritesNothing(t *testing.T) {
	home, _ := installHome(t)
	out := mustInstall(t, "claude", "--name", "builder", "--dry-run")
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("dry run wrote %d entries into HOME", len(entries))
	}
	if !strings.Contains(out, "would create "+filepath.Join(home, ".claude.json")) || !strings.Contains(out, "+ hooks.Stop: ") || !strings.Contains(out, "nothing was written") {
		t.Errorf("dry run output:\n%s", out)
	}
	writeFile(t, filepath.Join(home, ".gemini", "settings.json"), `{"theme": "dark"}`)
	out = mustInstall(t, "gemini", "--dry-run")
	if b, _ := os.ReadFile(filepath.Join(home, ".gemini", "settings.json")); string(b) != `{"theme": "dark"}` {
		t.Errorf("dry run changed the file: %s", b)
	}
	if !strings.Contains(out, "would update") {
		t.Errorf("dry run output:\n%s", out)
	}
}

func TestInstallProjectScopeWritesInTheCurrentFolder(t *testing.T) {
	home, cwd := installHome(t)
	exe := testExe(t)
	mustInstall(t, "claude", "--scope", "project", "--name", "builder")
	mcp := readJSON(t, filepath.Join(cwd, ".mcp.json"))
	if got := at(t, mcp, "mcpServers", "ipcmesh", "command"); got != exe {
		t.Errorf(".mcp.json command = %v", got)
	}
	settings := readJSON(t, filepath.Join(cwd, ".claude", "settings.json"))
	if at(t, settings, "hooks", "Stop", 0, "hooks", 0, "asyncRewake") != true {
		t.Errorf("project settings hooks: %v", settings)
	}
	mustInstall(t, "gemini", "--scope", "project")
	gem := readJSON(t, filepath.Join(cwd, ".gemini", "settings.json"))
	if got := at(t, gem, "mcpServers", "ipcmesh"); !reflect.DeepEqual(got, map[string]any{"command": exe, "args": []any{"mcp"}}) {
		t.Errorf("gemini project entry = %v", got)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("project scope wrote %d entries into HOME", len(entries))
	}
	if runtime.GOOS != "windows" {
		if fi, _ := os.Stat(filepath.Join(cwd, ".mcp.json")); fi.Mode().Perm() != 0o644 {
			t.Errorf(".mcp.json mode %v, want 644: it is meant to be shared", fi.Mode().Perm())
		}
	}
}

// Claude Code leaves a project's .mcp.json servers unstarted until the
// user approves them, so a project install says how, as a user install,
// which needs no approval, does not.
func TestInstallProjectScopeSaysClaudeAsksForApproval(t *testing.T) {
	installHome(t)
	const approval = "Pending approval"
	if out := mustInstall(t, "claude", "--scope", "project"); !strings.Contains(out, approval) || !strings.Contains(out, ".mcp.json") {
		t.Errorf("project install does not say Claude Code asks to approve .mcp.json servers:\n%s", out)
	}
	if out := mustInstall(t, "claude", "--scope", "project"); !strings.Contains(out, approval) {
		t.Errorf("a project install that changed nothing does not say it either:\n%s", out)
	}
	if out := mustInstall(t, "claude"); strings.Contains(out, approval) {
		t.Errorf("user install speaks of an approval Claude Code does not ask for:\n%s", out)
	}
}

func TestInstallGemini(t *testing.T) {
	home, _ := installHome(t)
	exe := testExe(t)
	path := filepath.Join(home, ".gemini", "settings.json")
	writeFile(t, path, `{"security": {"auth": {"selectedType": "oauth-personal"}}, "hooks": {"BeforeTool": [{"matcher": "run_shell_command", "hooks": [{"type": "command", "command": "./guard.sh"}]}]}}`)
	out := mustInstall(t, "gemini", "--name", "gem")
	cfg := readJSON(t, path)
	if got := at(t, cfg, "mcpServers", "ipcmesh"); !reflect.DeepEqual(got, map[string]any{"command": exe, "args": []any{"mcp"}, "env": map[string]any{"IPC_NAME": "gem"}}) {
		t.Errorf("gemini entry = %v", got)
	}
	check := shellQuote(exe) + " hook check --format gemini --as gem"
	if runtime.GOOS == "windows" {
		check = "& " + powershellQuote(exe) + " hook check --format gemini --as gem"
	}
	for _, ev := range []string{"BeforeAgent", "AfterTool"} {
		h := at(t, cfg, "hooks", ev, 0, "hooks", 0).(map[string]any)
		if h["command"] != check || h["type"] != "command" || h["timeout"] != 10000.0 {
			t.Errorf("%s hook = %v", ev, h)
		}
	}
	if at(t, cfg, "hooks", "BeforeTool", 0, "hooks", 0, "command") != "./guard.sh" || at(t, cfg, "security", "auth", "selectedType") != "oauth-personal" {
		t.Errorf("the user's settings changed: %v", cfg)
	}
	if _, ok := at(t, cfg, "hooks").(map[string]any)["AfterAgent"]; ok {
		t.Error("a wait hook was installed for Gemini CLI, which runs hooks synchronously")
	}
	if !strings.Contains(out, "Gemini CLI") {
		t.Errorf("output:\n%s", out)
	}
	if again := mustInstall(t, "gemini", "--name", "gem"); !strings.Contains(again, "nothing changed") {
		t.Errorf("second gemini install:\n%s", again)
	}
}

func TestInstallWindsurf(t *testing.T) {
	home, _ := installHome(t)
	exe := testExe(t)
	mustInstall(t, "windsurf", "--name", "cascade")
	cfg := readJSON(t, filepath.Join(home, ".codeium", "windsurf", "mcp_config.json"))
	want := map[string]any{"mcpServers": map[string]any{"ipcmesh": map[string]any{"command": exe, "args": []any{"mcp"}, "env": map[string]any{"IPC_NAME": "cascade"}}}}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("windsurf config = %v, want %v", cfg, want)
	}
	if r := install(t, "windsurf", "--scope", "project"); r.code != 2 || !strings.Contains(r.stderr, "--scope user") {
		t.Errorf("windsurf project scope = %+v, want a usage error", r)
	}
}

func TestInstallRefusesWhatItCannotMergeSafely(t *testing.T) {
	home, _ := installHome(t)
	path := filepath.Join(home, ".claude.json")
	cases := map[string]string{
		"not JSON":              `{"mcpServers": {`,
		"comments":              "// mine\n{}",
		"mcpServers not object": `{"mcpServers": []}`,
		"not an object":         `[1, 2]`,
	}
	for what, content := range cases {
		writeFile(t, path, content)
		r := install(t, "claude", "--no-hooks")
		if r.code != 1 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "nothing was changed") {
			t.Errorf("%s: %+v, want a failure naming the file", what, r)
		}
		if b, _ := os.ReadFile(path); string(b) != content {
			t.Errorf("%s: the file was changed to %s", what, b)
		}
	}
	writeFile(t, filepath.Join(home, ".claude", "settings.json"), `{"hooks": {"Stop": {"oops": true}}}`)
	os.Remove(path)
	if r := install(t, "claude"); r.code != 1 || !strings.Contains(r.stderr, "hooks.Stop") {
		t.Errorf("hooks.Stop not a list: %+v", r)
	}
	for _, args := range [][]string{{}, {"vscode"}, {"claude", "--scope", "galaxy"}, {"claude", "--name", "bad name"}} {
		if r := install(t, args...); r.code != 2 {
			t.Errorf("install %v = %+v, want a usage error", args, r)
		}
	}
}

func TestOwnHookRecognisesMovedBinaries(t *testing.T) {
	in := installer{exe: "/home/u/go/bin/ipcmesh"}
	for cmd, want := range map[string]bool{
		"/home/u/go/bin/ipcmesh hook check --format claude": true,
		"/usr/local/bin/ipcmesh hook check":                 true,
		"'/Users/me/My Tools/ipcmesh' hook check":           true,
		`C:\bin\ipcmesh.exe hook check`:                     true,
		"ipcmesh hook check --as bob":                       true,
		"ipcmesh hook wait":                                 false,
		"my-ipcmesh-wrapper hook check":                     false,
		"echo ipcmesh":                                      false,
	} {
		if got := in.ownHook(cmd, "check"); got != want {
			t.Errorf("ownHook(%q) = %v, want %v", cmd, got, want)
		}
	}
	// The mesh's settings before the binary, which may have another name.
	dev := installer{exe: "/opt/x/ipcmesh-dev"}
	for cmd, want := range map[string]bool{
		"IPC_PORT=26334 /opt/x/ipcmesh-dev hook check --format claude --as b":                      true,
		`IPC_PORT=26334 IPC_DATA_DIR='/home/me/it'\''s data' /opt/x/ipcmesh-dev hook check --as b`: true,
		"IPC_PORT=26334 /usr/local/bin/ipcmesh hook check":                                         true,
		"IPC_PORT=26334 /opt/x/ipcmesh-dev hook wait --timeout 1h":                                 false,
		"IPC_PORT=26334 /opt/x/other hook check":                                                   false,
	} {
		if got := dev.ownHook(cmd, "check"); got != want {
			t.Errorf("ownHook(%q) of %s = %v, want %v", cmd, dev.exe, got, want)
		}
	}
	if q := shellQuote("/Users/me/My Tools/it's/ipcmesh"); q != `'/Users/me/My Tools/it'\''s/ipcmesh'` {
		t.Errorf("shellQuote = %s", q)
	}
}

// TestInstallRefusesAGoRunBuild installs as binaries the go command built
// for one run, which it deletes or trims away: install refuses them (exit
// 2), naming how to build one that stays, and writes nothing; --dry-run
// warns and goes on.
func TestInstallRefusesAGoRunBuild(t *testing.T) {
	home, _ := installHome(t)
	cache := filepath.Join(home, "gocache")
	hash := strings.Repeat("f4926e63", 8)
	for _, tc := range []struct {
		what, exe, gocache string
	}{
		{"a go run build", filepath.Join(os.TempDir(), "go-build3887478636", "b001", "exe", "ipcmesh"), ""},
		{"a go test build", filepath.Join(os.TempDir(), "go-build1", "b001", "cli.test"), ""},
		{"the default build cache", filepath.Join(home, ".cache", "go-build", "f4", hash+"-d", "ipcmesh"), ""},
		{"GOCACHE", filepath.Join(cache, "f4", hash+"-d", "ipcmesh"), cache},
		{"a build cache set in go env", filepath.Join(cache, "f4", hash+"-d", "ipcmesh"), ""},
	} {
		run := func(args ...string) hookResult {
			var out, errb testbin.Buffer
			e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Self: tc.exe, Getenv: func(k string) string {
				if k == "GOCACHE" {
					return tc.gocache
				}
				return ""
			}}
			code := Run(e, "install", args)
			return hookResult{code, out.String(), errb.String()}
		}
		r := run("claude", "--name", "builder")
		for _, want := range []string{tc.exe + " is a build that go run made for one run", buildToInstall(runtime.GOOS, []string{"claude", "--name", "builder"}), "go install ./cmd/ipcmesh"} {
			if r.code != 2 || !strings.Contains(r.stderr, want) {
				t.Errorf("install as %s: exit %d, stderr %q; want exit 2 and %q", tc.what, r.code, r.stderr, want)
			}
		}
		if _, err := os.Stat(filepath.Join(home, ".claude.json")); !os.IsNotExist(err) {
			t.Fatalf("install as %s wrote ~/.claude.json (%v); want nothing written", tc.what, err)
		}
		r = run("claude", "--dry-run")
		if r.code != 0 || !strings.Contains(r.stderr, "without --dry-run, install refuses it") || !strings.Contains(r.stdout, "Dry run: nothing was written.") {
			t.Errorf("install --dry-run as %s: exit %d, stdout %q, stderr %q; want exit 0, the warning and the dry run", tc.what, r.code, r.stdout, r.stderr)
		}
	}
	// A binary that stays is installed.
	if out := mustInstall(t, "claude"); !strings.Contains(out, testExe(t)) {
		t.Errorf("install as %s said %q; want it to name the binary", testExe(t), out)
	}
}

// TestInstallAgainKeepsServerAndHooksAlike: installed from a shell with a
// mesh of its own and a name, then again from a plain shell without
// --name (after an upgrade, say), the server and the hooks still act as
// the same name on the same mesh: the name stays, and the mesh is the one
// of the environment install ran in.
func TestInstallAgainKeepsServerAndHooksAlike(t *testing.T) {
	home, _ := installHome(t)
	data := filepath.Join(home, "mesh-data")
	run := func(env map[string]string, args ...string) string {
		t.Helper()
		var out, errb testbin.Buffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Self: testExe(t), Getenv: func(k string) string { return env[k] }}
		if code := Run(e, "install", args); code != 0 {
			t.Fatalf("install %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	run(map[string]string{"IPC_PORT": "26334", "IPC_DATA_DIR": data}, "claude", "--name", "builder")
	out := run(nil, "claude")
	for _, want := range []string{"- mcpServers.ipcmesh.env.IPC_PORT", "- mcpServers.ipcmesh.env.IPC_DATA_DIR"} {
		if !strings.Contains(out, want) {
			t.Errorf("the second install's output lacks %q:\n%s", want, out)
		}
	}
	env := at(t, readJSON(t, filepath.Join(home, ".claude.json")), "mcpServers", "ipcmesh", "env").(map[string]any)
	if fmt.Sprint(env) != "map[IPC_NAME:builder]" {
		t.Errorf("the server's env after the second install: %v; want IPC_NAME=builder alone", env)
	}
	settings := readJSON(t, filepath.Join(home, ".claude", "settings.json"))
	for _, ev := range []string{"UserPromptSubmit", "PostToolUse", "Stop"} {
		cmd := at(t, settings, "hooks", ev, 0, "hooks", 0, "command").(string)
		if !strings.HasSuffix(strings.TrimSuffix(cmd, " --timeout 1h"), "--as builder") || strings.Contains(cmd, "IPC_") {
			t.Errorf("%s hook after the second install: %q; want it to act as builder on the default mesh", ev, cmd)
		}
	}
}

// TestInstallUnderAnotherNameKnowsItsHooks: a binary not called ipcmesh,
// installed from a shell with a mesh of its own (whose settings precede
// it in the hooks), finds its hooks again: a second install adds none,
// and uninstall takes them out.
func TestInstallUnderAnotherNameKnowsItsHooks(t *testing.T) {
	home, _ := installHome(t)
	run := func(cmd string, args ...string) string {
		t.Helper()
		var out, errb testbin.Buffer
		env := map[string]string{"IPC_PORT": "26334"}
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Self: "/opt/x/ipcmesh-dev", Getenv: func(k string) string { return env[k] }}
		if code := Run(e, cmd, args); code != 0 {
			t.Fatalf("%s %v: exit %d\nstdout:\n%s\nstderr:\n%s", cmd, args, code, out.String(), errb.String())
		}
		return out.String()
	}
	run("install", "claude", "--name", "b")
	run("install", "claude", "--name", "b")
	settings := filepath.Join(home, ".claude", "settings.json")
	for _, ev := range []string{"UserPromptSubmit", "PostToolUse", "Stop"} {
		if groups := at(t, readJSON(t, settings), "hooks", ev).([]any); len(groups) != 1 {
			t.Errorf("%s after installing twice: %d hooks, want 1: %v", ev, len(groups), groups)
		}
	}
	run("uninstall", "claude")
	if b, err := os.ReadFile(settings); err == nil && strings.Contains(string(b), "ipcmesh-dev") {
		t.Errorf("uninstall left hooks of ipcmesh-dev:\n%s", b)
	}
}

// A config kept elsewhere and linked into place (a dotfiles folder's) is
// changed where it is kept, and stays linked: install and uninstall leave
// the link as it is.
func TestInstallWritesThroughALinkedConfig(t *testing.T) {
	home, _ := installHome(t)
	kept := filepath.Join(t.TempDir(), "dotfiles", "claude-settings.json")
	writeFile(t, kept, `{"model": "opus"}`)
	link := filepath.Join(home, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kept, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	out := mustInstall(t, "claude", "--name", "builder")
	if !strings.Contains(out, kept) {
		t.Errorf("install does not say it changed %s:\n%s", kept, out)
	}
	for _, run := range []string{"install", "uninstall"} {
		if run == "uninstall" {
			if r := runBare(t, "uninstall", "claude"); r.code != 0 {
				t.Fatalf("uninstall: %+v", r)
			}
		}
		fi, err := os.Lstat(link)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			t.Fatalf("after %s, %s is a file of its own, no longer a link to %s", run, link, kept)
		}
		s := readJSON(t, kept)
		if s["model"] != "opus" {
			t.Errorf("after %s, %s lost the user's model: %v", run, kept, s)
		}
		_, hooked := s["hooks"]
		if hooked != (run == "install") {
			t.Errorf("after %s, %s has hooks: %v", run, kept, hooked)
		}
	}
	// The first backup is the file as it was, beside the link.
	if b, err := os.ReadFile(link + ".bak"); err != nil || string(b) != `{"model": "opus"}` {
		t.Errorf("%s.bak = %q, %v; want the file as it was", link, b, err)
	}
}

// A config its owner made read-only is not changed: install says so and
// writes nothing. Replacing it would need only a writable folder.
func TestInstallLeavesAReadOnlyConfigAlone(t *testing.T) {
	home, _ := installHome(t)
	path := filepath.Join(home, ".claude", "settings.json")
	const orig = `{"model": "opus"}`
	writeFile(t, path, orig)
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o644) })
	r := install(t, "claude", "--name", "builder")
	if r.code != 1 || !strings.Contains(r.stderr, path) || !strings.Contains(r.stderr, "read-only") {
		t.Errorf("install into a read-only config = %+v; want exit 1 naming %s as read-only", r, path)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != orig {
		t.Errorf("the read-only config now holds %q, %v; want it unchanged", b, err)
	}
	if _, err := os.Stat(path + ".bak"); !os.IsNotExist(err) {
		t.Errorf("a backup was made of a config that was not changed: %v", err)
	}
	// Nothing of ipcmesh's in it: uninstall has nothing to write, and
	// does not complain.
	if r := runBare(t, "uninstall", "claude"); r.code != 0 {
		t.Errorf("uninstall with nothing to remove from a read-only config: %+v", r)
	}
}

// One config install cannot change leaves the others of the client as
// they were: no MCP server entry is written without its hooks.
func TestInstallChangesNoFileWhenOneCannotBeChanged(t *testing.T) {
	home, _ := installHome(t)
	settings := filepath.Join(home, ".claude", "settings.json")
	writeFile(t, settings, `{"hooks": {"Stop": "not a list"}}`)
	r := install(t, "claude", "--name", "builder")
	if r.code != 1 || !strings.Contains(r.stderr, settings) {
		t.Errorf("install with a settings.json it cannot merge = %+v; want exit 1 naming it", r)
	}
	if _, err := os.Stat(filepath.Join(home, ".claude.json")); !os.IsNotExist(err) {
		t.Errorf("~/.claude.json was written, with no hooks to go with it: %v", err)
	}
}

// On Windows, Gemini CLI runs hook commands in PowerShell, where a quoted
// program path needs the call operator before it; Claude Code runs them in
// Git Bash, a POSIX shell. Each client's hooks are written for its shell,
// the mesh's settings before the command in that shell's words, and are
// known as ipcmesh's again.
func TestHookCommandsOnWindowsFitTheClientsShell(t *testing.T) {
	in := installer{exe: `C:\Users\Jo O'Brien\go\bin\ipcmesh.exe`, name: "builder", goos: "windows",
		env: []envVar{{"IPC_PORT", "9900"}}}
	for _, c := range []struct {
		specs []hookSpec
		want  string
	}{
		{in.geminiHooks(), `$env:IPC_PORT='9900'; & 'C:\Users\Jo O''Brien\go\bin\ipcmesh.exe' hook check --format gemini --as builder`},
		{in.claudeHooks(), `IPC_PORT=9900 'C:\Users\Jo O'\''Brien\go\bin\ipcmesh.exe' hook check --format claude --as builder`},
	} {
		cmd, _ := c.specs[0].handler.get("command")
		if cmd != c.want {
			t.Errorf("hook command on Windows:\n got %s\nwant %s", cmd, c.want)
		}
		if s, _ := cmd.(string); !in.ownHook(s, "check") || !(installer{}).ownHook(s, "check") {
			t.Errorf("%s is not known as ipcmesh's hook", s)
		}
	}
	// A binary under another name is known by its path.
	dev := installer{exe: `C:\tools\mesh.exe`, goos: "windows"}
	cmd, _ := dev.geminiHooks()[0].handler.get("command")
	if s, _ := cmd.(string); !dev.ownHook(s, "check") {
		t.Errorf("%s is not known as the hook of %s", s, dev.exe)
	}
}

// An IPC_DATA_DIR of "~/x" that no shell expanded (PowerShell, a quoted
// value) goes into the client's config as the folder the commands here
// use, x in the home folder, not as a folder "~" in the client's working
// folder.
func TestInstallWritesTheDataFolderTheCommandsUse(t *testing.T) {
	home, _ := installHome(t)
	var out, errb testbin.Buffer
	env := map[string]string{"IPC_DATA_DIR": "~/mesh-data"}
	e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Self: testExe(t), Getenv: func(k string) string { return env[k] }}
	if code := Run(e, "install", []string{"claude", "--name", "builder"}); code != 0 {
		t.Fatalf("install: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
	got := at(t, readJSON(t, filepath.Join(home, ".claude.json")), "mcpServers", "ipcmesh", "env", "IPC_DATA_DIR")
	if want := filepath.Join(home, "mesh-data"); got != want {
		t.Errorf("the server's IPC_DATA_DIR is %v, want %s", got, want)
	}
}

// install --no-hooks writes the server entry only, and leaves the hooks of
// an earlier install as they are; when those act as another name (or on
// another mesh) than the entry it wrote, it says so, and how to bring them
// in line: they still run at every prompt, and nothing else would tell.
func TestInstallNoHooksSaysWhenEarlierHooksActOtherwise(t *testing.T) {
	for _, client := range []string{"claude", "gemini"} {
		t.Run(client, func(t *testing.T) {
			home, _ := installHome(t)
			mustInstall(t, client, "--name", "builder")
			hooksFile := filepath.Join(home, ".claude", "settings.json")
			if client == "gemini" {
				hooksFile = filepath.Join(home, ".gemini", "settings.json")
			}
			if out := mustInstall(t, client, "--name", "builder", "--no-hooks"); strings.Contains(out, "earlier install") {
				t.Errorf("install --no-hooks under the hooks' own name spoke of them:\n%s", out)
			}
			out := mustInstall(t, client, "--name", "reviewer", "--no-hooks")
			for _, want := range []string{hooksFile + " keeps ipcmesh hooks of an earlier install", "--as builder", "--as reviewer", "install without --no-hooks", "ipcmesh uninstall " + client} {
				if !strings.Contains(out, want) {
					t.Errorf("install --no-hooks under another name printed:\n%s\nwant it to say %q", out, want)
				}
			}
			if b, _ := os.ReadFile(hooksFile); !strings.Contains(string(b), "--as builder") || strings.Contains(string(b), "hook check --format "+client+" --as reviewer") {
				t.Errorf("install --no-hooks changed the hooks:\n%s", b)
			}
		})
	}
}

// install and uninstall take one client: given two (or a stray word), they
// name the words and say to run once for each, rather than ask for a
// client the command line holds.
func TestInstallNamesTheWordsBeyondOneClient(t *testing.T) {
	installHome(t)
	for _, cmd := range []string{"install", "uninstall"} {
		r := runBare(t, cmd, "claude", "gemini", "--dry-run")
		if r.code != 2 || !strings.Contains(r.stderr, "one client at a time, not claude gemini: run it once for each") {
			t.Errorf("%s claude gemini: exit %d\n%s; want exit 2 naming both words and to run it once for each", cmd, r.code, r.stderr)
		}
	}
}

// A file where a config's folder belongs, or a folder where the config
// belongs, is named as such, with what to do; the system's words ("open
// ...: not a directory") named neither which one nor what to do. Nothing
// is changed, the other file of the install neither.
func TestInstallSaysWhichPathIsInTheWay(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(home string)
		want  string
	}{
		{"a file where the folder is", func(home string) { writeFile(t, filepath.Join(home, ".claude"), "") },
			filepath.Join("HOME", ".claude") + " is a file, where the folder of " + filepath.Join("HOME", ".claude", "settings.json") + " belongs"},
		{"a folder where the file is", func(home string) {
			if err := os.MkdirAll(filepath.Join(home, ".claude", "settings.json"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, filepath.Join("HOME", ".claude", "settings.json") + " is a folder, where a config file belongs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && strings.HasPrefix(tc.name, "a file") {
				t.Skip("Windows reads a path through a file as one that is not there")
			}
			home, _ := installHome(t)
			tc.setup(home)
			r := install(t, "claude", "--name", "builder")
			want := strings.ReplaceAll(tc.want, "HOME", home)
			if r.code == 0 || !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, "nothing was changed; move it away") || strings.Contains(r.stderr, "not a directory") || strings.Contains(r.stderr, "is a directory") {
				t.Errorf("install claude: exit %d\n%s\nwant it to say %q, that nothing was changed, and what to do", r.code, r.stderr, want)
			}
			if _, err := os.Stat(filepath.Join(home, ".claude.json")); err == nil {
				t.Errorf("install wrote .claude.json though the hooks could not be written")
			}
		})
	}
}
