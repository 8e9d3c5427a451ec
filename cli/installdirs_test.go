package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// runWith runs a command in-process, as the program testExe, with the
// environment vars (NAME=value) and nothing else.
func runWith(t *testing.T, vars []string, name string, args ...string) hookResult {
	t.Helper()
	env := map[string]string{}
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	var out, errb testbin.Buffer
	e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return env[k] }, Self: testExe(t)}
	code := Run(e, name, args)
	return hookResult{code, out.String(), errb.String()}
}

// mustExist fails unless every path is a file, and returns nothing.
func mustExist(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			t.Errorf("%s is not there: %v", p, err)
		}
	}
}

// mustBeGone fails if any path is there.
func mustBeGone(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s is there", p)
		}
	}
}

// With CLAUDE_CONFIG_DIR set, Claude Code reads its user config and user
// settings from that folder, and neither from the home folder: install
// must write them there, as `claude mcp add -s user` does, and uninstall
// take them out of there.
func TestInstallClaudeFollowsClaudeConfigDir(t *testing.T) {
	home, _ := installHome(t)
	dir := filepath.Join(t.TempDir(), "claude-work")
	vars := []string{"CLAUDE_CONFIG_DIR=" + dir}

	r := runWith(t, vars, "install", "claude", "--name", "builder")
	if r.code != 0 {
		t.Fatalf("install: %+v", r)
	}
	mcpFile, settings := filepath.Join(dir, ".claude.json"), filepath.Join(dir, "settings.json")
	mustExist(t, mcpFile, settings)
	mustBeGone(t, filepath.Join(home, ".claude.json"), filepath.Join(home, ".claude"))
	if at(t, readJSON(t, mcpFile), "mcpServers", "ipcmesh", "env", "IPC_NAME") != "builder" {
		t.Errorf("%s has no ipcmesh entry", mcpFile)
	}
	if at(t, readJSON(t, settings), "hooks", "Stop", 0, "hooks", 0, "asyncRewake") != true {
		t.Errorf("%s has no Stop hook", settings)
	}
	if !strings.Contains(r.stdout, "CLAUDE_CONFIG_DIR is set") {
		t.Errorf("install does not say where it writes, and why:\n%s", r.stdout)
	}

	// Project scope is the project's own files, wherever the user's are.
	if r := runWith(t, vars, "install", "claude", "--scope", "project", "--dry-run"); r.code != 0 || !strings.Contains(r.stdout, ".mcp.json") || strings.Contains(r.stdout, dir) {
		t.Errorf("project scope with CLAUDE_CONFIG_DIR set: %+v", r)
	}

	if r := runWith(t, vars, "uninstall", "claude"); r.code != 0 {
		t.Fatalf("uninstall: %+v", r)
	}
	mustBeGone(t, mcpFile, settings)
}

// With GEMINI_CLI_HOME set, Gemini CLI keeps its user settings in
// $GEMINI_CLI_HOME/.gemini/settings.json, and reads none in the home
// folder.
func TestInstallGeminiFollowsGeminiCLIHome(t *testing.T) {
	home, _ := installHome(t)
	dir := filepath.Join(t.TempDir(), "gemini-home")
	vars := []string{"GEMINI_CLI_HOME=" + dir}

	r := runWith(t, vars, "install", "gemini", "--name", "gem")
	if r.code != 0 {
		t.Fatalf("install: %+v", r)
	}
	settings := filepath.Join(dir, ".gemini", "settings.json")
	mustExist(t, settings)
	mustBeGone(t, filepath.Join(home, ".gemini"))
	cfg := readJSON(t, settings)
	if at(t, cfg, "mcpServers", "ipcmesh", "env", "IPC_NAME") != "gem" || at(t, cfg, "hooks", "BeforeAgent", 0, "hooks", 0, "name") != "ipcmesh-check" {
		t.Errorf("%s lacks ipcmesh's entry or hooks: %v", settings, cfg)
	}
	if !strings.Contains(r.stdout, "GEMINI_CLI_HOME is set") {
		t.Errorf("install does not say where it writes, and why:\n%s", r.stdout)
	}
	if r := runWith(t, vars, "install", "gemini", "--scope", "project", "--dry-run"); r.code != 0 || strings.Contains(r.stdout, dir) {
		t.Errorf("project scope with GEMINI_CLI_HOME set: %+v", r)
	}
	if r := runWith(t, vars, "uninstall", "gemini"); r.code != 0 {
		t.Fatalf("uninstall: %+v", r)
	}
	mustBeGone(t, settings)
}

// A link whose file is not there yet (a dotfiles folder that does not
// hold it yet) is a link all the same: install creates the file where it
// points, and the link stays; a link into a folder that is not there is
// refused before any file is changed.
func TestInstallCreatesTheFileADanglingLinkNames(t *testing.T) {
	home, _ := installHome(t)
	dots := filepath.Join(t.TempDir(), "dotfiles")
	if err := os.MkdirAll(dots, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	// Relative, as GNU Stow makes them.
	rel, err := filepath.Rel(filepath.Dir(link), filepath.Join(dots, "claude-settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(rel, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	kept := filepath.Join(dots, "claude-settings.json")
	out := mustInstall(t, "claude", "--name", "builder")
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a link (%v)", link, err)
	}
	if at(t, readJSON(t, kept), "hooks", "Stop", 0, "hooks", 0, "asyncRewake") != true {
		t.Errorf("%s has no hooks", kept)
	}
	if !strings.Contains(out, kept) {
		t.Errorf("install does not name %s, where it wrote:\n%s", kept, out)
	}

	// A link into a folder that is not there: nothing is written.
	home2, _ := installHome(t)
	link2 := filepath.Join(home2, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(link2), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(t.TempDir(), "not-checked-out", "settings.json")
	if err := os.Symlink(gone, link2); err != nil {
		t.Fatal(err)
	}
	r := install(t, "claude", "--name", "builder")
	if r.code == 0 || !strings.Contains(r.stderr, filepath.Dir(gone)) || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("install through a link into a missing folder: %+v, want a refusal naming the folder", r)
	}
	mustBeGone(t, filepath.Join(home2, ".claude.json"), filepath.Dir(gone))
	if fi, err := os.Lstat(link2); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("%s is no longer a link (%v)", link2, err)
	}
}
