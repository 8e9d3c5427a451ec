package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/ipcmesh/ipcmesh/internal/testbin"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// clientHome is a home folder and a project folder for install to write
// into, and the mesh m seen from a shell with that home, in that folder.
type clientHome struct {
	m         *mesh
	home, cwd string
}

func newClientHome(t *testing.T, m *mesh) *clientHome {
	home, cwd := t.TempDir(), t.TempDir()
	return &clientHome{m: m.withEnv("HOME="+home, "USERPROFILE="+home), home: home, cwd: cwd}
}

// run runs ipcmesh in the project folder.
func (c *clientHome) run(args ...string) result {
	c.m.t.Helper()
	p := c.m.startWith(func(cmd *exec.Cmd) { cmd.Dir = c.cwd }, strings.NewReader(""), args...)
	code := p.wait(runTimeout)
	return result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
}

func (c *clientHome) mustRun(args ...string) string {
	c.m.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.m.t.Fatalf("ipcmesh %s: %s", strings.Join(args, " "), r)
	}
	return r.stdout
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A client started from a launcher has none of the shell's IPC_*
// settings: the ones install was run with are in its config, and it joins
// the same mesh; the secret never is.
func TestInstallWritesTheMeshSettings(t *testing.T) {
	m := newMesh(t)
	c := newClientHome(t, m)
	out := c.mustRun("install", "claude", "--name", "builder")
	wantIn(t, "install", out, "IPC_PORT="+strings.TrimPrefix(m.addr(), "127.0.0.1:"), "IPC_DATA_DIR="+m.dir, "so that Claude Code joins the same mesh")

	var cfg struct {
		MCPServers map[string]struct {
			Command string            `json:"command"`
			Args    []string          `json:"args"`
			Env     map[string]string `json:"env"`
		} `json:"mcpServers"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(c.home, ".claude.json"))), &cfg); err != nil {
		t.Fatal(err)
	}
	entry := cfg.MCPServers["ipcmesh"]
	for k, v := range map[string]string{"IPC_NAME": "builder", "IPC_HOST": "127.0.0.1", "IPC_DATA_DIR": m.dir} {
		if entry.Env[k] != v {
			t.Errorf("env %s = %q, want %q (env: %v)", k, entry.Env[k], v, entry.Env)
		}
	}

	// The server as the launcher starts it: its config's environment only.
	launch := exec.Command(entry.Command, entry.Args...)
	launch.Env = append(testbin.CleanEnviron(), "HOME="+c.home)
	for k, v := range entry.Env {
		launch.Env = append(launch.Env, k+"="+v)
	}
	cl := mcptest.Connect(t, &mcp.CommandTransport{Command: launch}, "")
	// A tool that needs a name registers IPC_NAME, on this mesh.
	mcptest.Contains(t, "check", cl.OK("check", nil), "No new messages for builder")
	cl.OK("auto_check", map[string]any{"interval_minutes": 1}) // the hooks show mail only while it is on
	wantIn(t, "send to the launched server", m.mustRun("send", "--as", "tester", "builder", "hi").stdout, "delivered to builder (online)")

	if runtime.GOOS != "windows" {
		// The hooks, run by a shell with none of the settings either.
		settings := readFile(t, filepath.Join(c.home, ".claude", "settings.json"))
		var hooks struct {
			Hooks map[string][]struct {
				Hooks []struct{ Command string } `json:"hooks"`
			} `json:"hooks"`
		}
		if err := json.Unmarshal([]byte(settings), &hooks); err != nil {
			t.Fatal(err)
		}
		sh := exec.Command("sh", "-c", hooks.Hooks["UserPromptSubmit"][0].Hooks[0].Command)
		sh.Env = append(testbin.CleanEnviron(), "HOME="+c.home)
		sh.Stdin = strings.NewReader(`{"hook_event_name":"UserPromptSubmit"}`)
		b, err := sh.Output()
		if err != nil || !strings.Contains(string(b), "1 unread message for builder") {
			t.Errorf("the installed hook printed %q (%v), want builder's mail of this mesh", b, err)
		}
	}

	secret := c.m.withEnv("IPC_SHARED_SECRET=" + strings.Repeat("s", 32))
	r := (&clientHome{m: secret, home: c.home, cwd: c.cwd}).mustRun("install", "gemini", "--dry-run")
	wantIn(t, "install with a secret", r, "IPC_SHARED_SECRET is set here but was not written", "never goes into a config file in clear")
	if strings.Contains(r, strings.Repeat("s", 32)) {
		t.Errorf("install printed the secret:\n%s", r)
	}
}

// Gemini CLI reads settings.json with comments and trailing commas:
// install takes it, keeps the comments, and uninstall gives back the
// user's file as it was, keeping the first backup.
func TestGeminiSettingsWithCommentsInstallAndUninstall(t *testing.T) {
	c := newClientHome(t, newMesh(t))
	path := filepath.Join(c.home, ".gemini", "settings.json")
	// As the user wrote it: a trailing comma, comments everywhere.
	original := `// my Gemini settings
{
  "theme": "GitHub", // dark
  /* servers I use */
  "mcpServers": {
    "github": {
      "command": "npx",
      "args": [
        "-y",
        "server-github",
      ]
    }
  },
  "hooks": {
    "BeforeTool": [
      {
        "matcher": "run_shell_command",
        "hooks": [
          {
            "type": "command",
            "command": "./guard.sh" // keep me
          }
        ]
      }
    ]
  }
}
`
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.mustRun("install", "gemini", "--name", "gem")
	wantIn(t, "install gemini", out, "+ mcpServers.ipcmesh", "+ hooks.BeforeAgent", "`gemini mcp list` shows ipcmesh as Disabled")
	installed := readFile(t, path)
	wantIn(t, "settings.json after install", installed, "// my Gemini settings", `"theme": "GitHub", // dark`, "/* servers I use */", `"command": "./guard.sh" // keep me`, `"IPC_NAME": "gem"`, "hook check --format gemini --as gem")
	if got := readFile(t, path+".bak"); got != original {
		t.Errorf("settings.json.bak = %q, want the user's file", got)
	}

	out = c.mustRun("uninstall", "gemini")
	wantIn(t, "uninstall gemini", out, "- mcpServers.ipcmesh", "- hooks.BeforeAgent", "- hooks.AfterTool", "Restart Gemini CLI")
	// The user's file, but for the trailing comma it no longer needs.
	want := strings.Replace(original, `"server-github",`, `"server-github"`, 1)
	if got := readFile(t, path); got != want {
		t.Errorf("settings.json after uninstall:\n%s\nwant:\n%s", got, want)
	}
	if got := readFile(t, path+".bak"); got != original {
		t.Errorf("uninstall replaced the first backup: settings.json.bak = %q", got)
	}
	if got := readFile(t, path+".last.bak"); got != installed {
		t.Errorf("settings.json.last.bak = %q, want the version uninstall replaced", got)
	}
	wantIn(t, "uninstall again", c.mustRun("uninstall", "gemini"), "nothing of ipcmesh's in it", "not installed for gemini")
}

// uninstall claude takes out the server entry and the hooks, and leaves
// the user's own.
func TestUninstallClaudeKeepsTheRest(t *testing.T) {
	c := newClientHome(t, newMesh(t))
	claudeJSON := filepath.Join(c.home, ".claude.json")
	settings := filepath.Join(c.home, ".claude", "settings.json")
	if err := os.MkdirAll(filepath.Dir(settings), 0o700); err != nil {
		t.Fatal(err)
	}
	userSettings := `{"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}]}}`
	if err := os.WriteFile(settings, []byte(userSettings), 0o600); err != nil {
		t.Fatal(err)
	}
	wantIn(t, "uninstall before install", c.mustRun("uninstall", "claude"), claudeJSON+": not there", "not installed for claude")
	c.mustRun("install", "claude", "--name", "builder")
	c.mustRun("install", "claude", "--name", "reviewer") // a second install keeps the first backup too
	out := c.mustRun("uninstall", "claude")
	wantIn(t, "uninstall claude", out, "- mcpServers.ipcmesh", "- mcpServers (left empty)", "- hooks.UserPromptSubmit", "- hooks.Stop")
	// install made .claude.json, and ipcmesh's entries were all it held.
	if _, err := os.Stat(claudeJSON); !os.IsNotExist(err) {
		t.Errorf(".claude.json after uninstall: %v; want it removed, as install made it", err)
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(readFile(t, settings)), &s); err != nil {
		t.Fatal(err)
	}
	var u map[string]any
	json.Unmarshal([]byte(userSettings), &u)
	if got, want := mustJSONText(t, s), mustJSONText(t, u); got != want {
		t.Errorf("settings.json after uninstall = %s, want the user's %s", got, want)
	}
	if got := readFile(t, settings+".bak"); got != userSettings {
		t.Errorf("settings.json.bak = %q, want the user's original", got)
	}
	if r := c.run("uninstall", "vscode"); r.code != 2 {
		t.Errorf("uninstall vscode: %s, want a usage error", r)
	}
}

func mustJSONText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A binary started by a link, as a package manager's bin/ipcmesh points
// into a folder of one version, is written into the config as the link:
// the version's folder goes at the next upgrade, and the link is moved
// to the new one. Started by its name, found on PATH, and by the link's
// path alike.
func TestInstallWritesTheLinkTheBinaryWasStartedBy(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("links need privileges on Windows")
	}
	m := newMesh(t)
	c := newClientHome(t, m)
	bin := t.TempDir()
	link := filepath.Join(bin, "ipcmesh")
	if err := os.Symlink(ipcmeshBin, link); err != nil {
		t.Fatal(err)
	}
	for _, started := range []string{"ipcmesh", link} {
		cmd := exec.Command(link, "install", "windsurf", "--dry-run")
		cmd.Args[0] = started
		cmd.Dir = c.cwd
		env := append(c.m.environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		p := startCmd(t, cmd, started+" install windsurf --dry-run", env, strings.NewReader(""))
		if code := p.wait(runTimeout); code != 0 {
			t.Fatalf("%s install windsurf --dry-run: exit %d\n%s", started, code, p.stderr.String())
		}
		out := p.stdout.String()
		wantIn(t, started+" install windsurf --dry-run", out, "+ mcpServers.ipcmesh: "+link+" mcp")
	}
}
