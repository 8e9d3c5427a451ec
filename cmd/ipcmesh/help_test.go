package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// wantHelp checks what --help must print for cmd, the command as typed
// ("ipcmesh send", or "ipc_send"): exit 0, nothing on stderr, and on
// stdout the usage line, the flag and an example.
func wantHelp(t *testing.T, r result, cmd, flag string) {
	t.Helper()
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("help for %s: want exit 0 and nothing on stderr, got %s", cmd, r)
	}
	for _, want := range []string{"usage: " + cmd + " ", flag, "example:\n  " + cmd + " "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("help for %s does not show %q:\n%s", cmd, want, r.stdout)
		}
	}
}

// Every command answers -h, --help and "ipcmesh help CMD" with its usage,
// flags and an example, without joining the mesh.
func TestCommandHelp(t *testing.T) {
	m := newMesh(t)
	for _, c := range []struct {
		args      []string
		cmd, flag string
	}{
		{[]string{"send", "--help"}, "send", "--type TYPE"},
		{[]string{"check", "-h"}, "check", "--wait DURATION"},
		{[]string{"install", "--help"}, "install", "--scope"},
		{[]string{"help", "send"}, "send", "--reply-to ID"},
		{[]string{"key", "create", "--help"}, "key", "--label"},
		{[]string{"hook", "wait", "--help"}, "hook", "--timeout DURATION"},
		{[]string{"history", "--with", "bob", "-h"}, "history", "--before"},
	} {
		wantHelp(t, m.run(c.args...), "ipcmesh "+c.cmd, c.flag)
	}
	if !portFree(t, m.port) {
		t.Error("asking for help started a broker")
	}

	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "help"}, {"help", "--help"}, {"help", "-h"}, {}} {
		r := m.run(args...)
		if r.code != 0 {
			t.Fatalf("ipcmesh %v: %s", args, r)
		}
		for _, want := range []string{"\n  send ", "\n  check ", "\n  install ", "ipcmesh help COMMAND"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("ipcmesh %v does not list %q:\n%s", args, want, r.stdout)
			}
		}
	}
}

// compact and restore work while assistants run: a broker serving the
// folder is stopped and the next one does the work before it serves
// (TestCompactWhileAnAssistantRuns, TestRestoreWhileAnAssistantRuns). Their
// help must say so, not send the user off to stop every assistant first.
func TestHelpOfHandedOverCommands(t *testing.T) {
	m := newMesh(t)
	list := m.run("help").stdout
	for _, cmd := range []string{"compact", "restore"} {
		_, row, _ := strings.Cut(list, "\n  "+cmd+" ")
		row, _, _ = strings.Cut(row, "\n")
		for what, text := range map[string]string{"ipcmesh help": row, "ipcmesh " + cmd + " --help": m.run(cmd, "--help").stdout} {
			if !strings.Contains(text, "while a broker serves the folder") || strings.Contains(text, "every ipcmesh process") {
				t.Errorf("%s does not say that a broker serving the folder hands %s over:\n%s", what, cmd, text)
			}
		}
	}
}

// The standalone programs are the commands under other names, help
// included, and their help names the program that was run.
func TestStandaloneHelp(t *testing.T) {
	bin, err := testbin.BuildProgram(t.TempDir(), "ipc_send", false)
	if err != nil {
		t.Fatal(err)
	}
	m := newMesh(t)
	p := m.startWith(func(c *exec.Cmd) { c.Path, c.Args[0] = bin, bin }, nil, "--help")
	code := p.wait(runTimeout)
	r := result{code: code, stdout: p.stdout.String(), stderr: p.stderr.String()}
	wantHelp(t, r, "ipc_send", "--lines")
	if strings.Contains(r.stdout, "ipcmesh send") {
		t.Errorf("ipc_send --help calls it ipcmesh send:\n%s", r.stdout)
	}
}

// A mistyped command is answered with the one meant, as a command and as
// the subject of help.
func TestUnknownCommandSuggests(t *testing.T) {
	m := newMesh(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sned", "bob", "hi"}, "did you mean send?"},
		{[]string{"help", "sned"}, "did you mean send?"},
		{[]string{"lsit"}, "did you mean list?"},
	} {
		r := m.run(c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) || !strings.Contains(r.stderr, "ipcmesh help") {
			t.Errorf("ipcmesh %v: want exit 2 and %q with the way to the list, got %s", c.args, c.want, r)
		}
	}
}

// Flags typed before the command are the command's, as flags after it
// are; flags and no command name none, and say so.
func TestFlagsBeforeTheCommand(t *testing.T) {
	m := newMesh(t)
	if r := m.run("--json", "register", "alice"); r.code != 0 || !strings.Contains(r.stdout, `"name": "alice"`) {
		t.Fatalf("ipcmesh --json register alice: %s", r)
	}
	if r := m.run("register", "bob"); r.code != 0 {
		t.Fatalf("register bob: %s", r)
	}
	if r := m.run("--as", "alice", "send", "bob", "hello", "from", "alice"); r.code != 0 {
		t.Fatalf("ipcmesh --as alice send bob ...: %s", r)
	}
	r := m.run("--json", "check")
	if r.code != 0 || !strings.Contains(r.stdout, `"from": "alice"`) || !strings.Contains(r.stdout, "hello from alice") {
		t.Fatalf("ipcmesh --json check, as bob: want alice's message as JSON, got %s", r)
	}
	if r := m.run("--version"); r.code != 0 || !strings.Contains(r.stdout, "ipcmesh") {
		t.Errorf("ipcmesh --version: %s", r)
	}
	r = m.run("--as", "alice")
	if r.code != 2 || !strings.Contains(r.stderr, `"--as" is a flag`) || !strings.Contains(r.stderr, "ipcmesh help") {
		t.Errorf("ipcmesh --as alice, with no command: want exit 2 saying a command is missing, got %s", r)
	}
}
