package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzInstallEdit runs install, install again and uninstall on a config
// file of arbitrary content, as a user's own file may be, and checks what
// its owner would find: install either refuses with an error naming the
// file and changes nothing, or writes a file the client can read, with
// every setting of the owner's beside ipcmesh's entries as it was and the
// file as it was in its backup; a second install changes nothing; and
// uninstall leaves what uninstall would have left had install never run.
func FuzzInstallEdit(f *testing.F) {
	for _, s := range []string{
		``,
		`{}`,
		"// mine\n{\"theme\": \"dark\",}",
		`{"mcpServers": {"other": {"command": "x"}}, "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "./lint.sh"}]}]}}`,
		`{"mcpServers": {"ipcmesh": {"command": "/old/ipcmesh", "args": ["mcp"], "env": {"IPC_NAME": "reviewer", "IPC_PORT": "1", "MINE": "1"}, "trust": true}}}`,
		`{"hooks": {"PostToolUse": [{"matcher": "*", "description": "mine", "hooks": [{"type": "command", "command": "/old/ipcmesh hook check --format claude", "timeout": 5}, {"type": "command", "command": "./fmt.sh"}]}]}}`,
		`{"hooks": {"Stop": {}}}`,
		`{"mcpServers": []}`,
		`{"mcpServers": {"ipcmesh": "off"}, "hooks": {}}`,
		`[1]`,
		`{"a": 1, "a": 2}`,
		`{"hooks": {"BeforeAgent": [{"hooks": [{"command": "IPC_PORT=7 'ipcmesh' hook check --format gemini"}]}, 3, {"hooks": 4}]}}`,
	} {
		for _, sel := range []uint8{0, 1, 2, 4 | 8, 5 | 16 | 32, 6 | 32} {
			f.Add(sel, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		client := []string{"claude", "gemini", "windsurf"}[int(sel&3)%3]
		base := t.TempDir()
		newInstaller := func(remove bool) *installer {
			in := &installer{exe: "/opt/ipcmesh/bin/ipcmesh", hooks: remove || sel&4 != 0, remove: remove, goos: "linux"}
			if !remove && sel&8 != 0 {
				in.name = "builder"
			}
			if sel&16 != 0 {
				in.goos = "windows"
			}
			if !remove && sel&32 != 0 {
				in.env = []envVar{{"IPC_PORT", "9877"}}
			}
			return in
		}
		plan := func(in *installer) []configEdit {
			edits, err := in.plan(client, "user", base)
			if err != nil {
				t.Fatalf("plan %s: %v", client, err)
			}
			return edits
		}
		// Every file the client has holds data; the edits that uninstall
		// makes are those of install with hooks, every file.
		files := plan(newInstaller(true))
		for _, ed := range files {
			if err := os.MkdirAll(filepath.Dir(ed.path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(ed.path, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}

		_, err := runEdits(io.Discard, plan(newInstaller(false)), false, true)
		if err != nil {
			named := false
			for _, ed := range files {
				named = named || strings.Contains(err.Error(), ed.path)
				if got := readOr(t, ed.path, nil); !bytes.Equal(got, data) {
					t.Fatalf("install failed (%v) but changed %s:\n%q\nto\n%q", err, ed.path, data, got)
				}
				if _, serr := os.Stat(ed.path + ".bak"); serr == nil {
					t.Fatalf("install failed (%v) but wrote %s.bak", err, ed.path)
				}
			}
			if !named {
				t.Fatalf("install of %q failed with an error that names no file: %v", data, err)
			}
			return
		}
		installed := make([][]byte, len(files))
		for i, ed := range files {
			got := readOr(t, ed.path, nil)
			installed[i] = got
			if bytes.Equal(got, data) {
				continue
			}
			doc, err := parseConfig(got, ed.comments)
			if err != nil {
				t.Fatalf("install wrote %s, which the client cannot read (%v):\n%s\nfrom\n%q", ed.path, err, got, data)
			}
			if bak := readOr(t, ed.path+".bak", nil); !bytes.Equal(bak, data) {
				t.Fatalf("install changed %s but its backup holds %q, want the file as it was, %q", ed.path, bak, data)
			}
			before := plainOf(t, data, ed.comments)
			after := plain(doc.root).(map[string]any)
			for k, v := range before {
				if k == "mcpServers" || k == "hooks" {
					continue
				}
				if !reflect.DeepEqual(after[k], v) {
					t.Fatalf("install changed the owner's %q in %s from %#v to %#v", k, ed.path, v, after[k])
				}
			}
			if lost := ownersLost(before, after, newInstaller(false)); lost != "" {
				t.Fatalf("install of %q into %s lost the owner's %s:\n%s", data, ed.path, lost, got)
			}
		}

		n, err := runEdits(io.Discard, plan(newInstaller(false)), false, true)
		if err != nil || n != 0 {
			t.Fatalf("install again: %d changes, %v; want none", n, err)
		}
		for i, ed := range files {
			if got := readOr(t, ed.path, nil); !bytes.Equal(got, installed[i]) {
				t.Fatalf("install again rewrote %s:\n%s\nto\n%s", ed.path, installed[i], got)
			}
		}

		if _, err := runEdits(io.Discard, plan(newInstaller(true)), false, false); err != nil {
			t.Fatalf("uninstall after install of %q: %v", data, err)
		}
		for _, ed := range files {
			got := plainOf(t, readOr(t, ed.path, []byte("{}")), ed.comments)
			doc := objectOf(t, data, ed.comments)
			if _, err := ed.merge(doc); err != nil {
				t.Fatalf("uninstall of %q in memory: %v", data, err)
			}
			want := plain(doc).(map[string]any)
			pruneEmpty(got)
			pruneEmpty(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: install then uninstall left %#v; uninstall alone leaves %#v (from %q)", ed.path, got, want, data)
			}
		}
	})
}

// readOr reads path, or returns missing if it is not there.
func readOr(t *testing.T, path string, missing []byte) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return missing
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// objectOf parses data as install reads a config, an empty file as an
// empty object.
func objectOf(t *testing.T, data []byte, comments bool) *object {
	t.Helper()
	if len(bytes.TrimSpace(data)) == 0 {
		return newObject()
	}
	doc, err := parseConfig(data, comments)
	if err != nil {
		t.Fatalf("%q, which install took: %v", data, err)
	}
	o, ok := doc.root.(*object)
	if !ok {
		t.Fatalf("%q, which install took, is not an object", data)
	}
	return o
}

func plainOf(t *testing.T, data []byte, comments bool) map[string]any {
	t.Helper()
	return plain(objectOf(t, data, comments)).(map[string]any)
}

// pruneEmpty takes out of a config the containers uninstall removes once
// they are empty: an event's list of hooks, "hooks" and "mcpServers". The
// owner's empty ones go with ipcmesh's entries, which loses no setting.
func pruneEmpty(m map[string]any) {
	if h, ok := m["hooks"].(map[string]any); ok {
		for k, v := range h {
			if l, ok := v.([]any); ok && len(l) == 0 {
				delete(h, k)
			}
		}
	}
	for _, k := range []string{"hooks", "mcpServers"} {
		if o, ok := m[k].(map[string]any); ok && len(o) == 0 {
			delete(m, k)
		}
	}
}

// ownersLost names a setting of the owner's in the servers or hooks of
// before, a config, that after, the config install wrote, lacks or has
// changed; "" if there is none. ipcmesh's own entry may change, but not
// the fields and variables its owner added to it; a group of hooks with
// no hook of ipcmesh's stays where it was, as it was.
func ownersLost(before, after map[string]any, in *installer) string {
	bs, _ := before["mcpServers"].(map[string]any)
	as, _ := after["mcpServers"].(map[string]any)
	for k, v := range bs {
		if k != serverKey {
			if !reflect.DeepEqual(as[k], v) {
				return "server " + k
			}
			continue
		}
		mine, ok := v.(map[string]any)
		now, _ := as[k].(map[string]any)
		if !ok {
			continue
		}
		for f, fv := range mine {
			switch f {
			case "type", "command", "args":
				continue
			case "env":
				env, _ := fv.(map[string]any)
				nowEnv, _ := now["env"].(map[string]any)
				for e, ev := range env {
					if e != "IPC_NAME" && !slices.Contains(meshKeys, e) && (nowEnv == nil || !reflect.DeepEqual(nowEnv[e], ev)) {
						return "variable " + e + " of the server " + k
					}
				}
				continue
			}
			if !reflect.DeepEqual(now[f], fv) {
				return "field " + f + " of the server " + k
			}
		}
	}
	bh, _ := before["hooks"].(map[string]any)
	ah, _ := after["hooks"].(map[string]any)
	for event, v := range bh {
		groups, ok := v.([]any)
		if !ok {
			continue
		}
		now, _ := ah[event].([]any)
		for i, g := range groups {
			if holdsOwnHook(g, in) {
				continue
			}
			if i >= len(now) || !reflect.DeepEqual(now[i], g) {
				return fmt.Sprintf("group %d of the hooks of %s", i, event)
			}
		}
	}
	return ""
}

// holdsOwnHook reports whether g, a group of hooks, has one of ipcmesh's.
func holdsOwnHook(g any, in *installer) bool {
	group, _ := g.(map[string]any)
	list, _ := group["hooks"].([]any)
	for _, h := range list {
		handler, _ := h.(map[string]any)
		cmd, _ := handler["command"].(string)
		if in.ownHook(cmd, "check") || in.ownHook(cmd, "wait") {
			return true
		}
	}
	return false
}
