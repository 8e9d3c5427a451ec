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
