package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// TestInstallIntoAFileWithAByteOrderMark: Windows PowerShell's
// Set-Content -Encoding UTF8 and older Notepad start a settings file with
// a UTF-8 byte order mark, which install refused as "unexpected 'ï'", a
// character the file does not show. It is skipped, as RFC 8259 lets a
// reader do, and the file is written back without it, the user's
// settings and comments kept.
func TestInstallIntoAFileWithAByteOrderMark(t *testing.T) {
	home, _ := installHome(t)
	path := filepath.Join(home, ".gemini", "settings.json")
	writeFile(t, path, "\ufeff{\r\n  // mine\r\n  \"theme\": \"Dracula\"\r\n}\r\n")
	mustInstall(t, "gemini", "--name", "gem")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.HasPrefix(data, []byte("\ufeff")) {
		t.Errorf("%s still starts with a byte order mark, which Gemini CLI does not read", path)
	}
	if cfg := plainOf(t, data, true); at(t, cfg, "theme") != "Dracula" || at(t, cfg, "mcpServers", "ipcmesh", "env", "IPC_NAME") != "gem" {
		t.Errorf("after install: %v", cfg)
	}
	if !strings.Contains(string(data), "// mine") {
		t.Errorf("the comment is gone:\n%s", data)
	}

	claude := filepath.Join(home, ".claude.json")
	writeFile(t, claude, "\ufeff{\"numStartups\": 3}")
	mustInstall(t, "claude", "--no-hooks")
	if cfg := readJSON(t, claude); at(t, cfg, "numStartups") != 3.0 || at(t, cfg, "mcpServers", "ipcmesh", "command") != testExe(t) {
		t.Errorf("after install: %v", cfg)
	}
	if r := runBare(t, "uninstall", "claude"); r.code != 0 {
		t.Fatalf("uninstall: %+v", r)
	}
	if cfg := readJSON(t, claude); at(t, cfg, "numStartups") != 3.0 {
		t.Errorf("after uninstall: %v", cfg)
	}
}

// TestInstallNamesUTF16: Windows PowerShell's > writes UTF-16, which no
// client reads as JSON; install said "unexpected 'ÿ'". It says what the
// file is and what to save it as, and changes nothing.
func TestInstallNamesUTF16(t *testing.T) {
	home, _ := installHome(t)
	path := filepath.Join(home, ".claude.json")
	var b bytes.Buffer
	b.Write([]byte{0xff, 0xfe})
	for _, u := range utf16.Encode([]rune(`{"numStartups": 3}` + "\r\n")) {
		b.Write([]byte{byte(u), byte(u >> 8)})
	}
	writeFile(t, path, b.String())
	r := install(t, "claude", "--no-hooks")
	if r.code != 1 {
		t.Fatalf("install into a UTF-16 file: %+v, want a failure", r)
	}
	for _, want := range []string{path, "UTF-16", "save it as UTF-8", "nothing was changed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not say %q:\n%s", want, r.stderr)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, b.Bytes()) {
		t.Errorf("the file was changed to %q", got)
	}
}
