// Package scripts holds the install scripts' tests: the scripts do what
// ipcmesh install does, with jq, for those who would rather read a script
// than run a binary over their configs.
package scripts

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// script runs scripts/NAME with bash in home, with an ipcmesh on PATH (the
// scripts only need its path), and returns its output and error.
func script(t *testing.T, home, name string, args ...string) (string, error) {
	t.Helper()
	return scriptWith(t, home, name, scriptEnv{}, args...)
}

// scriptEnv is what a test adds to a script's environment.
type scriptEnv struct {
	path string   // a folder put first on PATH: the clients' commands a test makes up
	vars []string // KEY=VALUE
}

// scriptWith is script with more in its environment.
func scriptWith(t *testing.T, home, name string, more scriptEnv, args ...string) (string, error) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the install scripts are for POSIX shells")
	}
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH: %v", tool, err)
		}
	}
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "ipcmesh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", append([]string{name}, args...)...)
	path := bin + string(os.PathListSeparator) + os.Getenv("PATH")
	if more.path != "" {
		path = more.path + string(os.PathListSeparator) + path
	}
	cmd.Env = append([]string{"HOME=" + home, "PATH=" + path}, more.vars...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// A config that is a link into a dotfiles folder is changed where it
// points, and stays a link.
func TestScriptWritesThroughALinkedConfig(t *testing.T) {
	home := t.TempDir()
	kept := filepath.Join(t.TempDir(), "mcp_config.json")
	if err := os.WriteFile(kept, []byte(`{"mcpServers": {"other": {"command": "x"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, ".codeium", "windsurf", "mcp_config.json")
	if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(kept, link); err != nil {
		t.Fatal(err)
	}
	if out, err := script(t, home, "install-windsurf.sh", "--name", "builder"); err != nil {
		t.Fatalf("install-windsurf.sh: %v\n%s", err, out)
	}
	if fi, err := os.Lstat(link); err != nil {
		t.Fatal(err)
	} else if fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the config is no longer a link: its mode is %v", fi.Mode())
	}
	b, err := os.ReadFile(kept)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"other"`, `"ipcmesh"`, `"IPC_NAME": "builder"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the linked file lacks %s:\n%s", want, b)
		}
	}
	if _, err := os.Stat(link + ".bak"); err != nil {
		t.Errorf("no backup beside the link: %v", err)
	}
}

// A read-only config is left as it is, and the script says why, even to
// root, whom the file system lets write it.
func TestScriptLeavesAReadOnlyConfigAlone(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, ".codeium", "windsurf", "mcp_config.json")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	const before = `{"mcpServers": {}}`
	if err := os.WriteFile(path, []byte(before), 0o444); err != nil {
		t.Fatal(err)
	}
	out, err := script(t, home, "install-windsurf.sh")
	if err == nil || !strings.Contains(out, "read-only") {
		t.Errorf("install-windsurf.sh over a read-only config: %v\n%s; want a refusal that says it is read-only", err, out)
	}
	if b, _ := os.ReadFile(path); string(b) != before {
		t.Errorf("the read-only config was changed:\n%s", b)
	}
}

// The scripts are checked out with LF line endings everywhere: Git for
// Windows converts text files to CRLF by default (core.autocrlf), and bash,
// in Git Bash or WSL, reads each carriage return as part of a word.
func TestScriptsCheckedOutWithLF(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("git is not on PATH: %v", err)
	}
	if err := exec.Command("git", "rev-parse", "--is-inside-work-tree").Run(); err != nil {
		t.Skip("not a git checkout")
	}
	scripts, err := filepath.Glob("*.sh")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no scripts found: %v", err)
	}
	out, err := exec.Command("git", append([]string{"check-attr", "eol", "--"}, scripts...)...).Output()
	if err != nil {
		t.Fatalf("git check-attr: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if !strings.HasSuffix(line, ": eol: lf") {
			t.Errorf("%s: want eol lf, so that a Windows checkout does not give the script CRLF line endings", line)
		}
	}
}

// A script called wrongly names the word it does not take and offers only
// the options it has: Windsurf has no --scope. One whose client's command
// is missing says what to do instead.
func TestScriptsSayWhatIsWrong(t *testing.T) {
	home := t.TempDir()
	out, err := script(t, home, "install-windsurf.sh", "--nmae", "x")
	if err == nil || !strings.Contains(out, "--nmae: not an option") || !strings.Contains(out, "[--name NAME]") || strings.Contains(out, "--scope") {
		t.Errorf("install-windsurf.sh --nmae x: %v\n%s; want the word named and a usage without --scope", err, out)
	}
	out, err = script(t, home, "install-gemini.sh", "--nmae", "x")
	if err == nil || !strings.Contains(out, "[--scope user|project]") {
		t.Errorf("install-gemini.sh --nmae x: %v\n%s; want a usage with --scope", err, out)
	}
	out, err = script(t, home, "install-windsurf.sh", "--scope", "project")
	if err == nil || !strings.Contains(out, "leave --scope out") {
		t.Errorf("install-windsurf.sh --scope project: %v\n%s; want it to say to leave --scope out", err, out)
	}
	if _, err := exec.LookPath("claude"); err == nil {
		return // the refusal below is for a machine without Claude Code
	}
	out, err = script(t, home, "install-claude.sh")
	if err == nil || !strings.Contains(out, "ipcmesh install claude") {
		t.Errorf("install-claude.sh without claude on PATH: %v\n%s; want it to name ipcmesh install claude", err, out)
	}
}

// A script that adds the MCP server with the client's own command checks
// first that jq can edit the file its hooks go into: one it cannot (a
// Gemini settings.json with comments, a Claude settings.json with a
// trailing comma) stops it before the client's command has changed
// anything, so that "nothing was changed" is true.
func TestScriptChangesNothingWhenTheHooksFileIsNotJSON(t *testing.T) {
	for _, tc := range []struct {
		script, client, file, content string
	}{
		{"install-gemini.sh", "gemini", filepath.Join(".gemini", "settings.json"), "// mine\n{\"theme\": \"GitHub\"}\n"},
		{"install-claude.sh", "claude", filepath.Join(".claude", "settings.json"), `{"permissions": {},}`},
	} {
		home := t.TempDir()
		path := filepath.Join(home, tc.file)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(tc.content), 0o600); err != nil {
			t.Fatal(err)
		}
		calls := filepath.Join(home, "calls")
		out, err := scriptWith(t, home, tc.script, scriptEnv{path: fakeClient(t, tc.client, calls)}, "--name", "builder")
		if err == nil || !strings.Contains(out, "not plain JSON") || !strings.Contains(out, "nothing was changed") {
			t.Errorf("%s over a file jq cannot read: %v\n%s; want a refusal that says it is not plain JSON and nothing was changed", tc.script, err, out)
		}
		if b, err := os.ReadFile(calls); err == nil {
			t.Errorf("%s ran %s all the same, which changed its MCP config:\n%s", tc.script, tc.client, b)
		}
		if b, _ := os.ReadFile(path); string(b) != tc.content {
			t.Errorf("%s changed %s:\n%s", tc.script, tc.file, b)
		}
	}
}

// fakeClient makes a folder holding a command called client that notes
// each run of it, its arguments, in the file calls, and returns the folder.
func fakeClient(t *testing.T, client, calls string) string {
	t.Helper()
	dir := t.TempDir()
	body := "#!/bin/sh\necho \"$0 $*\" >> '" + calls + "'\n"
	if err := os.WriteFile(filepath.Join(dir, client), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// IPC_DATA_DIR that no shell expanded (quoted, or set in a file) is
// written as the ipcmesh commands take it: a leading ~ is the home folder
// and a variable its value. Written as it was, under the folder the
// script ran in, it named another data folder for the assistant.
func TestScriptWritesTheDataFolderTheCommandsUse(t *testing.T) {
	home := t.TempDir()
	root := t.TempDir()
	for _, tc := range []struct{ dir, want string }{
		{"~/mesh", filepath.Join(home, "mesh")},
		{"$MESH_ROOT/mesh", filepath.Join(root, "mesh")},
		{"${MESH_ROOT}/mesh", filepath.Join(root, "mesh")},
	} {
		out, err := scriptWith(t, home, "install-windsurf.sh", scriptEnv{vars: []string{"IPC_DATA_DIR=" + tc.dir, "MESH_ROOT=" + root}})
		if err != nil {
			t.Fatalf("install-windsurf.sh with IPC_DATA_DIR=%s: %v\n%s", tc.dir, err, out)
		}
		b, err := os.ReadFile(filepath.Join(home, ".codeium", "windsurf", "mcp_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var config struct {
			MCPServers map[string]struct{ Env map[string]string }
		}
		if err := json.Unmarshal(b, &config); err != nil {
			t.Fatalf("the config is not JSON: %v\n%s", err, b)
		}
		if got := config.MCPServers["ipcmesh"].Env["IPC_DATA_DIR"]; got != tc.want {
			t.Errorf("IPC_DATA_DIR=%s was written as %q, want %q, the folder the commands use", tc.dir, got, tc.want)
		}
	}
	out, err := scriptWith(t, home, "install-windsurf.sh", scriptEnv{vars: []string{"IPC_DATA_DIR=$MESH_NOT_SET/mesh"}})
	if err == nil || !strings.Contains(out, "MESH_NOT_SET is not set") {
		t.Errorf("install-windsurf.sh with a variable not set in IPC_DATA_DIR: %v\n%s; want a refusal naming it", err, out)
	}
}

// install-windsurf.sh writes the mesh settings of the shell it runs in, as
// install does: one an earlier run wrote that is not set now goes, or the
// assistant would stay on that run's mesh. The name and the user's own
// variables stay.
func TestWindsurfScriptDropsMeshSettingsNoLongerSet(t *testing.T) {
	home := t.TempDir()
	if out, err := scriptWith(t, home, "install-windsurf.sh", scriptEnv{vars: []string{"IPC_PORT=9911"}}, "--name", "cascade"); err != nil {
		t.Fatalf("install-windsurf.sh with IPC_PORT: %v\n%s", err, out)
	}
	path := filepath.Join(home, ".codeium", "windsurf", "mcp_config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(b), `"IPC_PORT": "9911"`, `"IPC_PORT": "9911", "MINE": "kept"`, 1)
	if edited == string(b) {
		t.Fatalf("the first run wrote no IPC_PORT:\n%s", b)
	}
	if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := script(t, home, "install-windsurf.sh"); err != nil {
		t.Fatalf("install-windsurf.sh without IPC_PORT: %v\n%s", err, out)
	}
	var config struct {
		MCPServers map[string]struct{ Env map[string]string }
	}
	b, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &config); err != nil {
		t.Fatalf("the config is not JSON: %v\n%s", err, b)
	}
	if want := map[string]string{"IPC_NAME": "cascade", "MINE": "kept"}; !reflect.DeepEqual(config.MCPServers["ipcmesh"].Env, want) {
		t.Errorf("env after a run without IPC_PORT: %v, want %v", config.MCPServers["ipcmesh"].Env, want)
	}
}
