package main

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/internal/mcptest"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Two terminals on one data folder, as the README's quick start has them:
// the name a command acts as is printed with what it did, a send to
// yourself is refused, and only register moves the folder's default name.
func TestTwoTerminalsOneFolder(t *testing.T) {
	m := newMesh(t)
	wantIn(t, "register builder", m.mustRun("register", "builder").stdout,
		"registered as builder", "builder is now this data folder's default name")
	wantIn(t, "register reviewer", m.mustRun("register", "reviewer").stdout,
		"reviewer is now this data folder's default name", "they acted as builder until now", "IPC_NAME=NAME or --as NAME")

	// The first terminal still thinks it is builder: its send would go
	// from reviewer to reviewer.
	msg := m.mustFail("send", "reviewer", "please check auth.go")
	wantIn(t, "send to yourself", msg, "from reviewer to reviewer", "nothing was sent", "--as NAME or IPC_NAME=NAME")
	msg = m.withEnv("IPC_NAME=builder").mustFail("send", "builder", "hi")
	wantIn(t, "send to yourself with IPC_NAME", msg, "IPC_NAME=builder makes this command act as builder itself")
	if r := m.mustRun("check", "--peek"); strings.TrimSpace(r.stdout) != "No new messages for reviewer." {
		t.Errorf("a refused send reached an inbox: check printed %q", r.stdout)
	}

	wantIn(t, "send --as builder", m.mustRun("send", "--as", "builder", "reviewer", "please check auth.go").stdout,
		"as builder: stored for reviewer")
	wantIn(t, "check", m.mustRun("check").stdout,
		"1 unread message for reviewer:", "please check auth.go")
	wantIn(t, "IPC_NAME send", m.withEnv("IPC_NAME=builder").mustRun("send", "reviewer", "done").stdout,
		"as builder: ")

	// --as and IPC_NAME act for their command only, even when they
	// register a name on the spot.
	wantIn(t, "check --as tester", m.mustRun("check", "--as", "tester").stdout, "No new messages for tester.")
	m.withEnv("IPC_NAME=ci").mustRun("send", "builder", "green")
	m.mustRun("rename", "--as", "tester", "tester2")
	for _, args := range [][]string{
		{"send", "builder", "still me?"},
		{"broadcast", "hello all"},
	} {
		wantIn(t, strings.Join(args, " "), m.mustRun(args...).stdout, "as reviewer: ")
	}
	wantIn(t, "check after --as", m.mustRun("check").stdout, "for reviewer:")

	// rename of the default name moves the default along.
	wantIn(t, "rename the default", m.mustRun("rename", "rev").stdout, "rev is now this data folder's default name")
	wantIn(t, "send after rename", m.mustRun("send", "builder", "renamed").stdout, "as rev: ")

	// ipc_register's promise is true: with IPC_NAME set it says that
	// this terminal still acts as IPC_NAME.
	out := m.withEnv("IPC_NAME=builder").mustRun("register", "tester").stdout
	wantIn(t, "register with IPC_NAME", out, "IPC_NAME=builder is set here, so commands in this terminal still act as builder")
	wantIn(t, "send with IPC_NAME", m.withEnv("IPC_NAME=builder").mustRun("send", "tester", "hi").stdout, "as builder: ")
}

// An MCP server acts as its own name: registering, and renaming it, leave
// the data folder's default name alone.
func TestMCPServerKeepsTheFolderDefault(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "builder")
	cmd := exec.Command(ipcmeshBin, "mcp")
	cmd.Env = m.withEnv("IPC_NAME=gem").environ()
	c := mcptest.Connect(t, &mcp.CommandTransport{Command: cmd}, "")
	c.OK("register", map[string]any{"name": "gem"})
	c.OK("rename", map[string]any{"new_name": "gem2"})
	c.OK("register", map[string]any{"name": "gem3"})
	wantIn(t, "send after the MCP server renamed", m.mustRun("send", "gem2", "hi").stdout, "as builder: ")
}

// --as OLD after a rename says to whom OLD was renamed and leaves its
// forward alone; a send from the new name to OLD is refused; register OLD
// takes it back on purpose, and says so.
func TestActingAsARenamedName(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "bob")
	m.mustRun("register", "old")
	m.mustRun("rename", "new")

	msg := m.mustFail("send", "--as", "old", "bob", "hi")
	wantIn(t, "send --as old", msg, "old was renamed to new", "--as new", "ipcmesh register old", "ends the forward")
	msg = m.withEnv("IPC_NAME=old").mustFail("check")
	wantIn(t, "check with IPC_NAME=old", msg, "old was renamed to new", "IPC_NAME=new")

	var list []ipcmesh.Instance
	m.mustJSON(&list, "list", "--json")
	for _, in := range list {
		if in.Name == "old" {
			t.Errorf("list shows old again after --as old: %+v", list)
		}
	}
	wantIn(t, "mail to old", m.mustRun("send", "--as", "bob", "old", "still there?").stdout, "forwarded: old is now new")
	// new's own mail to old would come back to new, as a send to itself.
	msg = m.mustFail("send", "old", "who is old now?")
	wantIn(t, "send from new to old", msg, "old is your own former name (you are new now)", "nothing was sent")

	out := m.mustRun("register", "old").stdout
	wantIn(t, "register old", out, "registered as old", "old had been renamed to new: mail to old reaches old again, no longer new")
	wantIn(t, "mail to old after register", m.mustRun("send", "--as", "bob", "old", "back?").stdout, "stored for old")
}

// unregister and rename act on a session this data folder holds. A name
// it holds none for, a typo above all, is refused, and not registered on
// the spot to be unregistered or renamed at once: that made the typo an
// instance list shows from then on, and exited 0 saying it freed or
// renamed a name while the one meant stayed as it was.
func TestUnregisterOrRenameOfANameWithoutASession(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "builder")
	for _, c := range []struct {
		how  string // how the name was chosen, as the error names it
		m    *mesh
		args []string
	}{
		{"--as buidler", m, []string{"unregister", "--as", "buidler"}},
		{"IPC_NAME buidler", m.withEnv("IPC_NAME=buidler"), []string{"unregister"}},
		{"--as buidler", m, []string{"rename", "--as", "buidler", "builder2"}},
		{"IPC_NAME buidler", m.withEnv("IPC_NAME=buidler"), []string{"rename", "builder2"}},
	} {
		msg := c.m.mustFail(c.args...)
		wantIn(t, c.args[0]+" with "+c.how, msg, c.how+": ", `no session for the name "buidler"`, "cannot "+c.args[0]+" it", "nothing was done", "ipcmesh list")
	}
	var list []ipcmesh.Instance
	m.mustJSON(&list, "list", "--json")
	if len(list) != 1 || list[0].Name != "builder" {
		t.Errorf("after unregistering and renaming a name never registered, list shows %+v; want builder alone", list)
	}

	// The session ended, a second unregister has none to end.
	wantIn(t, "unregister builder", m.mustRun("unregister", "--as", "builder").stdout, "unregistered builder")
	wantIn(t, "unregister builder again", m.mustFail("unregister", "--as", "builder"), `no session for the name "builder"`)
	// builder was the default name: the folder has none now, and says why.
	wantIn(t, "check with no default name", m.mustFail("check"), "has no default name", "was unregistered", "ipcmesh register NAME")
}
