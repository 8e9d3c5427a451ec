package auth

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh"
)

func TestKeyring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	k := Keyring{Dir: dir}

	if _, err := k.Current(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Current on an empty keyring: %v, want os.ErrNotExist", err)
	}
	if _, err := k.Load("alice"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load on an empty keyring: %v, want os.ErrNotExist", err)
	}

	if err := k.Save("alice", "v1.aaa.bbb"); err != nil {
		t.Fatal(err)
	}
	if err := k.Save("bob", "v1.ccc.ddd"); err != nil {
		t.Fatal(err)
	}
	wantLoad(t, k, "alice", "v1.aaa.bbb")
	wantLoad(t, k, "bob", "v1.ccc.ddd")
	wantCurrent(t, k, "bob")

	if err := k.Save("alice", "v1.eee.fff"); err != nil {
		t.Fatal(err)
	}
	wantLoad(t, k, "alice", "v1.eee.fff")
	wantCurrent(t, k, "alice")

	if runtime.GOOS != "windows" {
		sessions := filepath.Join(dir, "sessions")
		wantMode(t, sessions, 0o700)
		wantMode(t, filepath.Join(sessions, "alice.token"), 0o600)
		wantMode(t, filepath.Join(sessions, "current"), 0o600)
	}

	// Removing a name that is not current keeps the current one.
	if err := k.Remove("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Load("bob"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load after Remove: %v, want os.ErrNotExist", err)
	}
	wantCurrent(t, k, "alice")

	if err := k.Remove("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Current(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Current after removing the current name: %v, want os.ErrNotExist", err)
	}
	if err := k.Remove("alice"); err != nil {
		t.Errorf("removing twice: %v", err)
	}

	entries, err := os.ReadDir(filepath.Join(dir, "sessions"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != prunedFile { // when the keyring last looked for tokens long expired
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestKeyringHostileNames(t *testing.T) {
	dir := t.TempDir()
	k := Keyring{Dir: filepath.Join(dir, "data")}
	for _, name := range []string{"../x", "..", "a/b", `a\b`, "", "x.token", "/etc/passwd", "a\nb"} {
		if err := k.Save(name, "v1.aaa.bbb"); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Save(%q): %v, want %s", name, err, ipcmesh.CodeInvalidName)
		}
		if _, err := k.Load(name); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Load(%q): %v, want %s", name, err, ipcmesh.CodeInvalidName)
		}
		if err := k.Remove(name); ipcmesh.CodeOf(err) != ipcmesh.CodeInvalidName {
			t.Errorf("Remove(%q): %v, want %s", name, err, ipcmesh.CodeInvalidName)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("a hostile name created %s", e.Name())
	}
}

func TestKeyringBadInput(t *testing.T) {
	k := Keyring{Dir: t.TempDir()}
	for _, token := range []string{"", "v1.a\nb", "v1.a b"} {
		if err := k.Save("alice", token); err == nil {
			t.Errorf("Save with token %q accepted", token)
		}
	}
	if err := (Keyring{}).Save("alice", "v1.aaa.bbb"); err == nil {
		t.Error("Save with no Dir accepted")
	}
	// A current file edited by hand to hold a bad name is refused, not used.
	sessions := filepath.Join(k.Dir, "sessions")
	if err := os.MkdirAll(sessions, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sessions, "current"), []byte("../x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if name, err := k.Current(); err == nil {
		t.Errorf("Current returned %q from a bad current file", name)
	}
}

func wantLoad(t *testing.T, k Keyring, name, want string) {
	t.Helper()
	got, err := k.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Load(%q) = %q, want %q", name, got, want)
	}
}

func wantCurrent(t *testing.T, k Keyring, want string) {
	t.Helper()
	got, err := k.Current()
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("Current() = %q, want %q", got, want)
	}
}

func TestKeyringKeepLeavesCurrent(t *testing.T) {
	k := Keyring{Dir: t.TempDir()}
	if err := k.Save("alice", "v1.a.b"); err != nil {
		t.Fatal(err)
	}
	// bob's session renewed: its token is kept, but alice stays the name
	// commands act as by default.
	if err := k.Keep("bob", "v1.c.d"); err != nil {
		t.Fatal(err)
	}
	if cur, err := k.Current(); err != nil || cur != "alice" {
		t.Fatalf("Current = %q, %v after Keep(bob); want alice", cur, err)
	}
	if tok, err := k.Load("bob"); err != nil || tok != "v1.c.d" {
		t.Fatalf("Load(bob) = %q, %v", tok, err)
	}
}

// Names that differ only in case keep their own tokens, also where the
// file system would make "Builder.token" and "builder.token" one file, and
// a token file never hands one name another's session.
func TestKeyringNamesDifferingInCase(t *testing.T) {
	k, sessions, tok := tokenFolder(t, "case")
	for _, name := range []string{"builder", "Builder"} {
		if err := k.Save(name, tok(name)); err != nil {
			t.Fatal(err)
		}
	}
	wantLoad(t, k, "builder", tok("builder"))
	wantLoad(t, k, "Builder", tok("Builder"))
	for _, f := range []string{"builder.token", "^builder.token"} {
		if _, err := os.Stat(filepath.Join(sessions, f)); err != nil {
			t.Errorf("token file %s: %v", f, err)
		}
	}

	// A file from before, as a file system that ignores case shows it:
	// "Builder.token" opens builder's file. Its token is not Builder's.
	os.Remove(filepath.Join(sessions, "^builder.token"))
	os.WriteFile(filepath.Join(sessions, "Builder.token"), []byte(tok("builder")+"\n"), 0o600)
	if _, err := k.Load("Builder"); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), `holds the session of "builder"`) {
		t.Fatalf("Load(Builder) of builder's file: %v, want not found, saying whose it is", err)
	}

	// A file from before that is Builder's own is read, and kept from
	// then on under Builder's own file name.
	os.WriteFile(filepath.Join(sessions, "Builder.token"), []byte(tok("Builder")+"\n"), 0o600)
	wantLoad(t, k, "Builder", tok("Builder"))
	if _, err := os.Stat(filepath.Join(sessions, "^builder.token")); err != nil {
		t.Errorf("the old file was not kept under the new name: %v", err)
	}
	// Where the file system ignores case (Windows, macOS), Builder.token
	// is builder.token: the file from before took the place of builder's,
	// as the names shared one file then. builder registers again.
	lower, errLower := os.Stat(filepath.Join(sessions, "builder.token"))
	upper, errUpper := os.Stat(filepath.Join(sessions, "Builder.token"))
	if errLower == nil && errUpper == nil && os.SameFile(lower, upper) {
		if err := k.Save("builder", tok("builder")); err != nil {
			t.Fatal(err)
		}
	}
	// Removing Builder removes both of its files and leaves builder's.
	if err := k.Remove("Builder"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Load("Builder"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(Builder) after Remove: %v, want not found", err)
	}
	wantLoad(t, k, "builder", tok("builder"))
}

// TestRegisterSession: a register's session id is the same on every try
// until it is dropped, and files that hold no session id are ignored.
func TestRegisterSession(t *testing.T) {
	k := Keyring{Dir: t.TempDir()}
	sid, kept, err := k.RegisterSession("bob")
	if err != nil || !kept || !validSessionID(sid) {
		t.Fatalf("first register: %q, kept %v, %v", sid, kept, err)
	}
	// The session id claims the name as its token would (SECURITY.md 3.8).
	if runtime.GOOS != "windows" {
		path, _ := k.pendingPath("bob")
		wantMode(t, path, 0o600)
	}
	if again, kept, err := k.RegisterSession("bob"); err != nil || !kept || again != sid {
		t.Fatalf("a retry: %q (kept %v, %v), want %q again", again, kept, err, sid)
	}
	if other, _, _ := k.RegisterSession("Bob"); other == sid {
		t.Errorf("Bob, another name, got bob's session id")
	}
	if err := k.DropRegister("bob"); err != nil {
		t.Fatal(err)
	}
	if next, _, _ := k.RegisterSession("bob"); next == sid {
		t.Errorf("after the token was kept, a register reuses the session id")
	}
	path, _ := k.pendingPath("bob")
	os.WriteFile(path, []byte("not an id\n"), 0o600)
	if got, kept, _ := k.RegisterSession("bob"); kept || !validSessionID(got) {
		t.Errorf("a file with no session id in it: %q, kept %v", got, kept)
	}
}

// A name that Windows takes for a device (aux, nul, con, com1) keeps its
// token in a file of another name: there "aux.token" is the device, which
// swallows what is written and, for con, waits for the keyboard when read.
// A token kept as "aux.token" before is still found where it can be a file.
func TestKeyringWindowsDeviceNames(t *testing.T) {
	k, sessions, tok := tokenFolder(t, "device")
	devices := []string{"con", "nul", "com1", "lpt9"}
	for _, name := range devices {
		if err := k.Save(name, tok(name)); err != nil {
			t.Fatal(err)
		}
		wantLoad(t, k, name, tok(name))
	}
	entries, err := os.ReadDir(sessions)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		stem, _, _ := strings.Cut(e.Name(), ".")
		if slices.Contains(devices, strings.ToLower(stem)) {
			t.Errorf("token file %s is a device on Windows", e.Name())
		}
	}
	if cur, err := k.Current(); err != nil || cur != "lpt9" {
		t.Errorf("Current() = %q, %v; want lpt9", cur, err)
	}

	if runtime.GOOS == "windows" {
		return // no file "aux.token" can have been kept there
	}
	os.WriteFile(filepath.Join(sessions, "aux.token"), []byte(tok("aux")+"\n"), 0o600)
	wantLoad(t, k, "aux", tok("aux"))
	if _, err := os.Stat(filepath.Join(sessions, ipcmesh.FileName("aux")+".token")); err != nil {
		t.Errorf("the old file was not kept under the new name: %v", err)
	}
}

// tokenFolder makes a keyring in a new data folder, the folder its token
// files go to, and a maker of each name's token: one expiry for every
// token, so that a token made twice is the same.
func tokenFolder(t *testing.T, label string) (k Keyring, sessions string, tok func(name string) string) {
	t.Helper()
	keys := testKeys(t, label)
	expires := time.Now().Add(time.Hour)
	dir := t.TempDir()
	tok = func(name string) string {
		return keys.SignToken(Token{Name: name, SessionID: "s-" + name, Expires: expires})
	}
	return Keyring{Dir: dir}, filepath.Join(dir, "sessions"), tok
}
