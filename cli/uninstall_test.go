package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A comment on ipcmesh's own entry, and a user's hook in the same group as
// an ipcmesh one, outlive uninstall.
func TestUninstallKeepsCommentsAndSharedGroups(t *testing.T) {
	home, _ := installHome(t)
	path := filepath.Join(home, ".gemini", "settings.json")
	writeFile(t, path, `{
  "mcpServers": {
    // added by ipcmesh install, on my laptop only
    "ipcmesh": {"command": "/old/ipcmesh", "args": ["mcp"]},
  },
  "hooks": {
    "AfterTool": [
      {"matcher": "*", "description": "mine", "hooks": [
        {"type": "command", "command": "/old/ipcmesh hook check --format gemini"}, // theirs
        {"type": "command", "command": "./lint.sh"}
      ]}
    ]
  }
}`)
	r := runBare(t, "uninstall", "gemini")
	if r.code != 0 {
		t.Fatalf("uninstall: %+v", r)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(got)
	for _, want := range []string{"// added by ipcmesh install, on my laptop only", "// theirs", `"command": "./lint.sh"`, `"description": "mine"`} {
		if !strings.Contains(s, want) {
			t.Errorf("after uninstall, %q is gone:\n%s", want, s)
		}
	}
	if strings.Contains(s, "ipcmesh hook") || strings.Contains(s, `"ipcmesh":`) {
		t.Errorf("after uninstall, ipcmesh is still there:\n%s", s)
	}
	// mcpServers holds nothing but the comment now: it stays, for the
	// comment's sake.
	if _, err := parseConfig(got, true); err != nil {
		t.Fatalf("uninstall wrote what it cannot read: %v\n%s", err, s)
	}
}

// Files that install made, and that held only ipcmesh's entries, go with
// them, backups of install's own versions too; a file that was there
// before stays, even if ipcmesh's entries were all it held since, and so
// does its first backup, its owner's version.
func TestUninstallRemovesTheFilesInstallMade(t *testing.T) {
	_, cwd := installHome(t)
	mine := filepath.Join(cwd, ".gemini", "settings.json")
	writeFile(t, mine, "{}\n")
	mustInstall(t, "claude", "--scope", "project", "--name", "alpha")
	mustInstall(t, "claude", "--scope", "project", "--name", "beta") // .bak and .last.bak of install's versions
	mustInstall(t, "gemini", "--scope", "project", "--name", "beta")
	made := []string{
		filepath.Join(cwd, ".mcp.json"), filepath.Join(cwd, ".mcp.json.bak"),
		filepath.Join(cwd, ".claude", "settings.json"), filepath.Join(cwd, ".claude", "settings.json.bak"),
	}
	for _, f := range made {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("after two installs: %v", err)
		}
	}
	for _, client := range []string{"claude", "gemini"} {
		if r := runBare(t, "uninstall", client, "--scope", "project"); r.code != 0 {
			t.Fatalf("uninstall %s: %+v", client, r)
		}
	}
	for _, f := range made {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			b, _ := os.ReadFile(f)
			t.Errorf("after uninstall, %s is still there (%v):\n%s", f, err, b)
		}
	}
	for _, f := range []string{mine, mine + ".bak"} {
		if b, err := os.ReadFile(f); err != nil || strings.TrimSpace(string(b)) != "{}" {
			t.Errorf("after uninstall, the user's own %s: %q, %v; want it kept as it was", f, b, err)
		}
	}
}
