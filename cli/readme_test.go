package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// readmeSection returns the part of the README under the heading title,
// up to the next heading of its level.
func readmeSection(t *testing.T, title string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", title)
	}
	sec, _, _ = strings.Cut(sec, "\n## ")
	return sec
}

// helpFlag finds the flags a command's --help lists.
var helpFlag = regexp.MustCompile(`(?m)^  (--[a-z-]+)`)

// Every command has its row in the README's command table, and the row
// names every flag the command's help lists, but for --as, which the text
// under the table explains for all, the flag only a broker started in the
// background is given, and the broker's HTTP flags, which its row gives
// as "the other flags of serve".
func TestREADMECommandTableHasEveryCommandAndFlag(t *testing.T) {
	sec := readmeSection(t, "Commands")
	rows := map[string]string{}
	for _, line := range strings.Split(sec, "\n") {
		if rest, ok := strings.CutPrefix(line, "| `ipcmesh "); ok {
			name, _, _ := strings.Cut(rest, " ")
			name, _, _ = strings.Cut(name, "`")
			rows[name] += line
		}
	}
	unlisted := map[string]bool{"--as": true, "--detached": true}
	serveFlags := []string{"--allow-host", "--allow-origin", "--insecure", "--tls-cert", "--tls-key"}
	helpArgs := map[string][][]string{
		"hook": {{"check", "--help"}, {"wait", "--help"}},
		"key":  {{"create", "--help"}},
	}
	m := newHookMesh(t)
	for _, c := range commands() {
		row, ok := rows[c.name]
		if !ok {
			t.Errorf("README's command table has no row for ipcmesh %s", c.name)
			continue
		}
		for _, args := range append(helpArgs[c.name], []string{"--help"}) {
			e, out, errb := m.env("")
			if code := Run(e, c.name, args); code != 0 {
				t.Fatalf("ipcmesh %s %v: exit %d: %s", c.name, args, code, errb)
			}
			for _, f := range helpFlag.FindAllStringSubmatch(out.String(), -1) {
				flag := f[1]
				if unlisted[flag] || c.name == "broker" && slices.Contains(serveFlags, flag) {
					continue
				}
				if !regexp.MustCompile(regexp.QuoteMeta(flag) + `\b`).MatchString(row) {
					t.Errorf("README's row for ipcmesh %s does not name %s, which its help lists", c.name, flag)
				}
			}
		}
	}
}

// The README's environment table names every IPC_ variable the code
// reads, and no variable the code does not read.
func TestREADMEEnvironmentTableHasEveryVariable(t *testing.T) {
	var table []string
	for _, line := range strings.Split(readmeSection(t, "Environment"), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, v := range regexp.MustCompile("`(IPC_[A-Z_]+)`").FindAllStringSubmatch(first, -1) {
			table = append(table, v[1])
		}
	}
	read := map[string]bool{}
	name := regexp.MustCompile(`"(IPC_[A-Z_]+)"`)
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != "..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || strings.Contains(filepath.ToSlash(path), "internal/testbin/") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, v := range name.FindAllStringSubmatch(string(b), -1) {
			read[v[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) < 20 {
		t.Fatalf("found only %d IPC_ variables in the code: %v", len(read), read)
	}
	for v := range read {
		if !slices.Contains(table, v) {
			t.Errorf("the code reads %s, which README's environment table does not have", v)
		}
	}
	for _, v := range table {
		if !read[v] {
			t.Errorf("README's environment table has %s, which no code reads", v)
		}
	}
}

// jsonBlocks returns the ```json blocks of the subsection "### title" of
// the README, readme, in order.
func jsonBlocks(t *testing.T, readme, title string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n### "+title+"\n")
	if !ok {
		t.Fatalf("README.md has no subsection %q", title)
	}
	sec, _, _ = strings.Cut(sec, "\n### ")
	sec, _, _ = strings.Cut(sec, "\n## ")
	var blocks []string
	for {
		var block string
		if _, sec, ok = strings.Cut(sec, "```json\n"); !ok {
			return blocks
		}
		block, sec, _ = strings.Cut(sec, "```")
		blocks = append(blocks, block)
	}
}

// The configuration files the README shows for Claude Code, Gemini CLI and
// Windsurf are what install writes into an empty home folder, for the
// binary and the names the README uses.
func TestREADMEConfigsAreWhatInstallWrites(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the README's paths are Unix paths")
	}
	const exe = "/home/you/go/bin/ipcmesh"
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		section, client, name string
		files                 []string // the README's blocks, in order
	}{
		{"Claude Code", "claude", "builder", []string{".claude.json", ".claude/settings.json"}},
		{"Gemini CLI", "gemini", "gemini", []string{".gemini/settings.json"}},
		{"Windsurf", "windsurf", "cascade", []string{".codeium/windsurf/mcp_config.json"}},
	} {
		home, _ := installHome(t)
		var out, errb testbin.Buffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }, Self: exe}
		if code := Run(e, "install", []string{tc.client, "--name", tc.name}); code != 0 {
			t.Fatalf("install %s: exit %d: %s", tc.client, code, errb.String())
		}
		blocks := jsonBlocks(t, string(readme), tc.section)
		if len(blocks) < len(tc.files) {
			t.Fatalf("README's %s has %d JSON blocks, want %d", tc.section, len(blocks), len(tc.files))
		}
		for i, f := range tc.files {
			var shown any
			if err := json.Unmarshal([]byte(blocks[i]), &shown); err != nil {
				t.Fatalf("README's %s, block %d: %v", tc.section, i+1, err)
			}
			if written := readJSON(t, filepath.Join(home, f)); !reflect.DeepEqual(shown, any(written)) {
				got, _ := json.MarshalIndent(written, "", "  ")
				t.Errorf("README's %s shows for %s:\n%s\ninstall --name %s writes:\n%s", tc.section, f, blocks[i], tc.name, got)
			}
		}
	}
}

// The README's layout of the source (under "How it works") names every
// folder that holds a package, so that a package added is explained there.
func TestREADMELayoutNamesEveryPackage(t *testing.T) {
	sec := readmeSection(t, "How it works")
	_, layout, ok := strings.Cut(sec, "```\ncmd/ipcmesh")
	if !ok {
		t.Fatal("README's How it works has no layout block starting with cmd/ipcmesh")
	}
	layout, _, _ = strings.Cut(layout, "```")
	named := map[string]bool{}
	for _, line := range strings.Split("cmd/ipcmesh"+layout, "\n") {
		// The folders come before the first run of spaces, separated by
		// ", " when a line names several.
		first, _, _ := strings.Cut(line, "  ")
		for _, dir := range strings.Split(first, ", ") {
			named[strings.TrimSuffix(dir, "/")] = true
		}
	}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != ".." {
			return filepath.SkipDir
		}
		rel, err := filepath.Rel("..", path)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "cmd/ipc_") {
			rel = "cmd/ipc_*"
		}
		gos, _ := filepath.Glob(filepath.Join(path, "*.go"))
		if len(gos) > 0 && !named[rel] {
			t.Errorf("README's layout under How it works does not name %s/", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
