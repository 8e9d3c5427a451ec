package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// runAs runs the command cmd in-process as the program that was typed
// (empty: ipcmesh), with stdin and extra settings (KEY=VALUE).
func (m *hookMesh) runAs(program, stdin string, extra []string, cmd string, args ...string) hookResult {
	m.t.Helper()
	e, out, errb := m.env(stdin, extra...)
	e.Program = program
	code := Run(e, cmd, args)
	return hookResult{code, out.String(), errb.String()}
}

// wantRun fails the test unless r ended with code and its stderr says
// every one of want.
func wantRun(t *testing.T, label string, r hookResult, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", label, r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("%s: stderr %q; want it to say %q", label, r.stderr, w)
		}
	}
}

// TestNamesBeginningWithADash: a name typed with a dash before it is a
// slip, not a flag and not a name. Where the command takes a name, the
// refusal says that no new name begins with '-' and names the one likely
// meant, rather than advise the "--" that sends the word as it is; after
// a "--", register, rename and send refuse it as a name that cannot be
// made, exit status 2, the standalone programs as ipcmesh. Where the
// words after it already give the name (send --bogus reviewer hi), the
// word is a mistyped flag and nothing more is said of it, unless it is
// one dash before a word of a name's shape and of no flag's (send
// -reviewer hello there): then both readings are said, the recipient's
// with the command line without the dash. That said only the first, and
// left "-reviewer" a riddle to one who meant the recipient.
func TestNamesBeginningWithADash(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer")
	m.peer("builder")
	for _, tc := range []struct {
		program, cmd string
		args         []string
		want         []string
	}{
		{"", "send", []string{"-reviewer", "hi"}, []string{"-reviewer is not a flag of send", "no new name may begin with '-': did you mean reviewer?"}},
		{"ipc_send", "send", []string{"--reviewer", "hi"}, []string{"ipc_send: --reviewer is not a flag", "did you mean reviewer?"}},
		{"", "register", []string{"-builder"}, []string{"no new name may begin with '-': did you mean builder?"}},
		{"", "register", []string{"--", "-builder"}, []string{`name "-builder" begins with '-'`, "(builder, say)", "usage: ipcmesh register"}},
		{"ipc_register", "register", []string{"--", "-x"}, []string{`name "-x" begins with '-'`, "usage: ipc_register"}},
		{"ipc_rename", "rename", []string{"--", "-builder"}, []string{`name "-builder" begins with '-'`}},
		{"ipc_send", "send", []string{"--", "-reviewer", "hi"}, []string{`no instance is named "-reviewer", and none can be`, "did you mean reviewer?"}},
		// A flag of other commands is that flag, not a name.
		{"ipc_send", "send", []string{"--version"}, []string{"--version is not a flag of send", "ipcmesh version prints the version"}},
		{"", "register", []string{"--as", "builder"}, []string{"--as is not a flag of register", "register takes the name itself: ipcmesh register NAME"}},
		{"ipc_register", "register", []string{"--as", "builder"}, []string{"takes the name itself: ipc_register NAME"}},
		// Where the words after it give the name, the word is no name.
		{"", "send", []string{"--bogus", "reviewer", "hi"}, []string{"--bogus is not a flag of send (ipcmesh send --help lists them)\n"}},
		{"", "send", []string{"--bogus", "reviewer", "--type", "request", "hi"}, []string{"--bogus is not a flag of send (ipcmesh send --help lists them)\n"}},
		{"ipc_register", "register", []string{"-bogus", "builder"}, []string{"-bogus is not a flag of register (ipc_register --help lists them)\n"}},
		// Where they would give it only if the word were a flag, one
		// dash before a name's shape may be either: both are said.
		{"", "send", []string{"-reviewer", "hello", "there"}, []string{"-reviewer is not a flag of send (ipcmesh send --help lists them); if you meant the recipient reviewer, leave out the dash that makes it look like a flag: ipcmesh send reviewer hello there\n"}},
		{"ipc_send", "send", []string{"--type", "request", "-reviewer", "hello", "there", "--json"}, []string{"leave out the dash that makes it look like a flag: ipc_send --type request reviewer hello there --json\n"}},
		{"", "send", []string{"-reviewer", "hello there", "now"}, []string{"leave out the dash that makes it look like a flag: ipcmesh send reviewer ... (the other words as you typed them)\n"}},
	} {
		label := strings.TrimSpace(tc.program + " " + tc.cmd + " " + strings.Join(tc.args, " "))
		r := m.runAs(tc.program, "", nil, tc.cmd, tc.args...)
		wantRun(t, label, r, 2, tc.want...)
		if strings.Contains(r.stderr, "did you mean version?") || strings.Contains(r.stderr, "did you mean as?") {
			t.Errorf("%s: %q takes a flag of other commands for a name", label, r.stderr)
		}
		if strings.Contains(r.stderr, "did you mean bogus?") {
			t.Errorf("%s: %q takes a mistyped flag for a name, though the name follows it", label, r.stderr)
		}
		if strings.Contains(r.stderr, "to pass it as text") {
			t.Errorf("%s: %q advises the \"--\" that makes the word a name", label, r.stderr)
		}
	}
	// A word of a flag's shape, or near a flag, is a flag mistyped: the
	// recipient reading is not offered.
	for _, args := range [][]string{
		{"--bogus", "reviewer", "hi"},
		{"-r", "reviewer", "hi"},
		{"-tpye", "request", "reviewer", "hi"},
		{"-1st", "reviewer", "hi"},
		{"-reviewer=x", "builder", "hi"},
	} {
		label := "send " + strings.Join(args, " ")
		r := m.runAs("", "", nil, "send", args...)
		wantRun(t, label, r, 2, args[0]+" is not a flag of send")
		if strings.Contains(r.stderr, "leave out the dash") {
			t.Errorf("%s: %q reads a flag mistyped as the recipient", label, r.stderr)
		}
	}
	// A word of the message that begins with '-' is text, as before.
	r := m.runAs("", "", nil, "send", "reviewer", "-x")
	wantRun(t, "send reviewer -x", r, 2, `to pass it as text, put it after "--"`)

	// A name chosen by IPC_NAME or --as that begins with '-' is refused
	// naming the setting that chose it: with IPC_NAME, nothing on the
	// command line shows where the name came from.
	for _, tc := range []struct {
		extra []string
		args  []string
		want  string
	}{
		{[]string{"IPC_NAME=-builder2"}, []string{"check"}, `IPC_NAME: name "-builder2" begins with '-'`},
		{[]string{"IPC_NAME=-builder2"}, []string{"send", "reviewer", "hi"}, `IPC_NAME: name "-builder2" begins with '-'`},
		{nil, []string{"check", "--as=-builder2"}, `--as: name "-builder2" begins with '-'`},
	} {
		label := strings.Join(append(slices.Clone(tc.extra), tc.args...), " ")
		wantRun(t, label, m.runAs("", "", tc.extra, tc.args[0], tc.args[1:]...), 2, tc.want)
	}
}

// TestBlankMessageRefused: a message of only whitespace is refused as an
// empty one is, naming what it held. Given as words it is a command
// called wrongly (exit status 2, before any broker is asked); read from
// stdin it is a failure (1). send --lines skips blank lines as it skips
// empty ones, and sends the rest.
func TestBlankMessageRefused(t *testing.T) {
	m := newHookMesh(t)
	reviewer := m.peer("reviewer")
	m.peer("builder")
	for _, tc := range []struct {
		stdin string
		cmd   string
		args  []string
		code  int
		want  []string
	}{
		{"", "send", []string{"reviewer", "   "}, 2, []string{`the message to "reviewer" holds only whitespace (3 bytes`, "give it some content", "nothing was sent", "usage: ipcmesh send"}},
		{"", "send", []string{"reviewer", ""}, 2, []string{`the message to "reviewer" is empty`}},
		{"\n\n\n", "send", []string{"reviewer", "-"}, 1, []string{`the message to "reviewer" on stdin holds only whitespace (3 bytes`, "nothing was sent"}},
		{"", "broadcast", []string{" \t "}, 2, []string{"the broadcast holds only whitespace"}},
		{"\n", "broadcast", []string{"-"}, 1, []string{"the broadcast on stdin holds only whitespace (1 byte of"}},
	} {
		label := tc.cmd + " " + strings.Join(tc.args, " ")
		wantRun(t, label, m.runAs("", tc.stdin, nil, tc.cmd, tc.args...), tc.code, tc.want...)
	}
	if got := unreadContents(t, reviewer); len(got) != 0 {
		t.Fatalf("reviewer got %q after the refusals, want nothing", got)
	}
	r := m.runAs("", " \n\t\nthe one line\n  \n", nil, "send", "--lines", "reviewer", "-")
	wantRun(t, "send --lines", r, 0)
	if !strings.Contains(r.stdout, "sent 1 message to reviewer") {
		t.Errorf("send --lines: stdout %q, want it to say it sent 1 message", r.stdout)
	}
	if got := unreadContents(t, reviewer); !slices.Equal(got, []string{"the one line"}) {
		t.Errorf("reviewer got %q, want the one line that is not blank", got)
	}
}

// TestCalledWronglyExitsTwo: a command given a name, channel name or
// shared key that breaks its rule was called wrongly, whichever command
// and whichever program: exit status 2 with the usage line, as for a
// flag it does not take. A well-formed one the mesh has nothing for is a
// failure: 1.
func TestCalledWronglyExitsTwo(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer")
	m.peer("builder")
	for _, tc := range []struct {
		program string
		extra   []string
		cmd     string
		args    []string
		code    int
	}{
		{"", nil, "register", []string{"bad!"}, 2},
		{"ipc_register", nil, "register", []string{"bad!"}, 2},
		{"", nil, "send", []string{"bad!", "hi"}, 2},
		{"ipc_send", nil, "send", []string{"bad!", "hi"}, 2},
		{"", nil, "send", []string{"#bad!", "hi"}, 2},
		{"", nil, "send", []string{"--as", "bad!", "reviewer", "hi"}, 2},
		{"", nil, "send", []string{"--shared", "bad/key", "reviewer", "hi"}, 2},
		{"ipc_send", []string{"IPC_NAME=bad!"}, "send", []string{"reviewer", "hi"}, 2},
		{"ipc_rename", nil, "rename", []string{"bad!"}, 2},
		{"ipc_check", nil, "check", []string{"--from", "bad!"}, 2},
		{"", nil, "history", []string{"--with", "bad!"}, 2},
		{"", nil, "search", []string{"--from", "bad!", "x"}, 2},
		{"", nil, "channels", []string{"create", "bad!"}, 2},
		{"", nil, "get", []string{"bad/key"}, 2},
		{"", nil, "key", []string{"create", "bad!"}, 2},
		{"", nil, "fetch", []string{"0123456789abcdef"}, 1},
		{"", nil, "get", []string{"nothing-here"}, 1},
		{"ipc_rename", []string{"IPC_NAME=nobody"}, "rename", []string{"somebody"}, 1},
	} {
		label := strings.TrimSpace(tc.program + " " + tc.cmd + " " + strings.Join(tc.args, " ") + " " + strings.Join(tc.extra, " "))
		r := m.runAs(tc.program, "", tc.extra, tc.cmd, tc.args...)
		if r.code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstderr: %s", label, r.code, tc.code, r.stderr)
		}
		if hasUsage := strings.Contains(r.stderr, "\nusage: "); hasUsage != (tc.code == 2) {
			t.Errorf("%s: stderr %q; want the usage line with exit status 2 only", label, r.stderr)
		}
	}
}

// TestKeyArguments: key create, list and revoke given the wrong number of
// arguments say what each takes, not a count.
func TestKeyArguments(t *testing.T) {
	m := newHookMesh(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create"}, "key create needs the name the key acts as: ipcmesh key create NAME"},
		{[]string{"revoke"}, "key revoke needs what to revoke: a key's ID"},
		{[]string{"list", "extra"}, `key list takes no arguments, got "extra"`},
		{[]string{"create", "human", "me", "in", "browser"}, `key create takes one NAME, got 4 words: "human me in browser"; a label goes with --label: ipcmesh key create human --label "me in browser"`},
		{[]string{"revoke", "a", "b"}, `key revoke takes one argument, got 2: "a b"`},
	} {
		r := m.runAs("", "", nil, "key", tc.args...)
		wantRun(t, "key "+strings.Join(tc.args, " "), r, 2, tc.want, "\nusage: ipcmesh key")
	}
}

// TestNameThatDiffersByCase: names differ by case, and the command line
// says so where a name chosen for a command is likely another: one this
// data folder holds no session for names the one it holds ("did you
// mean"), and one claimed on the spot that another registered name
// differs from only by case is warned about, with how to act as the
// other. The name stays the one chosen.
func TestNameThatDiffersByCase(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer")
	m.peer("builder")
	r := m.runAs("", "", nil, "unregister", "--as", "Reviewer")
	wantRun(t, "unregister --as Reviewer", r, 1, `holds no session for the name "Reviewer"`, "did you mean reviewer (--as reviewer)?")
	r = m.runAs("ipc_rename", "", []string{"IPC_NAME=Reviewer"}, "rename", "critic")
	wantRun(t, "IPC_NAME=Reviewer ipc_rename critic", r, 1, "did you mean reviewer (IPC_NAME=reviewer)?")

	r = m.runAs("", "", nil, "send", "--as", "Reviewer", "builder", "hi")
	wantRun(t, "send --as Reviewer", r, 0, "warning: --as Reviewer acts as Reviewer, not as reviewer: names differ by case; to act as reviewer, use --as reviewer")
	if !strings.Contains(r.stdout, "as Reviewer: ") {
		t.Errorf("send --as Reviewer: stdout %q; want it sent as Reviewer, the name chosen", r.stdout)
	}

	r = m.runAs("", "", nil, "register", "Builder")
	wantRun(t, "register Builder", r, 0, "warning: Builder and builder are two instances: names differ by case, and mail to builder does not reach Builder", "ipcmesh register builder")
	if !strings.Contains(r.stdout, "registered as Builder") {
		t.Errorf("register Builder: stdout %q; want Builder registered, the name chosen", r.stdout)
	}
	r = m.runAs("", "", nil, "register", "Builder")
	if strings.Contains(r.stderr, "differ by case") {
		t.Errorf("register Builder again, which resumes its session: stderr %q; the warning was given when the name was made", r.stderr)
	}
	m.peer("tester")
	m.peer("planner")
	r = m.runAs("", "", nil, "rename", "--as", "tester", "Planner")
	wantRun(t, "rename --as tester Planner", r, 0, "warning: Planner and planner are two instances: names differ by case, and mail to planner does not reach Planner")
	r = m.runAs("", "", nil, "rename", "--as", "Planner", "tester")
	if strings.Contains(r.stderr, "differ by case") {
		t.Errorf("rename back to tester: stderr %q; want no warning", r.stderr)
	}
	r = m.runAs("", "", nil, "key", "create", "Tester")
	wantRun(t, "key create Tester", r, 0, "warning: no instance is registered as Tester, and tester is: if the key is meant for tester", "ipcmesh key create tester")
	r = m.runAs("", "", nil, "key", "create", "gpt")
	if strings.Contains(r.stderr, "warning") {
		t.Errorf("key create gpt, a new name near none: stderr %q; want no warning", r.stderr)
	}
}

// TestDamagedSessionFilesAreNamed: a session token file that holds no
// token, or a default name file that holds no name, is reported as
// damaged, naming the file and how to mend it, never as a session or a
// default name that is not there.
func TestDamagedSessionFilesAreNamed(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer")
	m.peer("tester")
	sessions := filepath.Join(m.dir, "sessions")
	tokenFile := filepath.Join(sessions, "tester.token")
	if err := os.WriteFile(tokenFile, []byte("garbage!!\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		program string
		extra   []string
		cmd     string
		args    []string
	}{
		{"", nil, "rename", []string{"--as", "tester", "critic"}},
		{"", []string{"IPC_NAME=tester"}, "unregister", nil},
		{"ipc_rename", []string{"IPC_NAME=tester"}, "rename", []string{"critic"}},
	} {
		label := strings.TrimSpace(tc.program + " " + tc.cmd + " " + strings.Join(tc.args, " "))
		r := m.runAs(tc.program, "", tc.extra, tc.cmd, tc.args...)
		wantRun(t, label, r, 1, "session token file "+tokenFile+" is damaged", "ipcmesh register tester", "nothing was done")
		if strings.Contains(r.stderr, "holds no session") {
			t.Errorf("%s: %q says the folder holds no session", label, r.stderr)
		}
	}

	if err := os.WriteFile(filepath.Join(sessions, "current"), []byte("not a name\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := m.runAs("", "", nil, "check")
	wantRun(t, "check with a damaged default name", r, 1, filepath.Join(sessions, "current")+", which keeps the data folder's default name, is damaged", "ipcmesh register NAME")
	if strings.Contains(r.stderr, "has no default name") {
		t.Errorf("check: %q says the folder has no default name", r.stderr)
	}
}

// TestPeekThatLeavesMoreSaysHowToSeeThem: a check --peek whose --limit
// leaves mail unshown marks nothing read, so "run check again" would show
// the same page; it says how to see the rest.
func TestPeekThatLeavesMoreSaysHowToSeeThem(t *testing.T) {
	m := newHookMesh(t)
	reviewer := m.peer("reviewer")
	m.peer("builder")
	for _, text := range []string{"one", "two", "three"} {
		m.send(reviewer, "builder", text)
	}
	r := m.runAs("", "", nil, "check", "--as", "builder", "--peek", "--limit", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "--peek left these unread") || !strings.Contains(r.stdout, "--limit 3 shows the rest too") {
		t.Errorf("check --peek --limit 1: exit %d, stdout %q; want it to say --limit 3 shows the rest", r.code, r.stdout)
	}
	r = m.runAs("", "", nil, "check", "--as", "builder", "--limit", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "(2 more unread: run check again)") {
		t.Errorf("check --limit 1: exit %d, stdout %q; want it to say to run check again", r.code, r.stdout)
	}
}

// TestChannelMembersNotRegisteredAreNamed: channels create and join with a
// member no instance is registered as (a typo) say so, with the name
// likely meant, as the MCP tool does; registered members pass quietly.
func TestChannelMembersNotRegisteredAreNamed(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer")
	m.peer("builder")
	r := m.runAs("", "", nil, "channels", "--as", "builder", "create", "team", "--members", "reviwer")
	if r.code != 0 || !strings.Contains(r.stdout, "warning: no instance is registered as reviwer (did you mean reviewer?)") || !strings.Contains(r.stdout, "channels join team --members NAME") {
		t.Errorf("channels create team --members reviwer: exit %d, stdout %q; want a warning naming reviewer", r.code, r.stdout)
	}
	r = m.runAs("", "", nil, "channels", "--as", "builder", "join", "team", "--members", "reviewer")
	if r.code != 0 || strings.Contains(r.stdout, "warning") {
		t.Errorf("channels join team --members reviewer: exit %d, stdout %q; want no warning", r.code, r.stdout)
	}
	r = m.runAs("", "", nil, "channels", "--as", "builder", "join", "team", "--members", "nobody-yet")
	if r.code != 0 || !strings.Contains(r.stdout, "warning: no instance is registered as nobody-yet: it reads #team once") {
		t.Errorf("channels join team --members nobody-yet: exit %d, stdout %q; want a warning", r.code, r.stdout)
	}
}

// TestRefusedFlagValueNamedOnce: a value a number or duration flag cannot
// take is named with the flag once, in two dashes, not under the flag
// package's "invalid value ... for flag -limit".
func TestRefusedFlagValueNamedOnce(t *testing.T) {
	m := newHookMesh(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--limit", "ten"}, `ipcmesh check: --limit takes a whole number, not "ten"`},
		{[]string{"check", "--wait", "5"}, `ipcmesh check: --wait takes a duration like 5s, 2m or 1h30m, not "5" (for 5 seconds: 5s)`},
		{[]string{"history", "--with", "bob", "--before", "abc"}, `ipcmesh history: --before takes a whole number, 0 or more, not "abc"`},
	} {
		r := m.runAs("", "", nil, tc.args[0], tc.args[1:]...)
		wantRun(t, strings.Join(tc.args, " "), r, 2, tc.want)
		if strings.Contains(r.stderr, "invalid value") {
			t.Errorf("%s: stderr %q keeps the flag package's words", strings.Join(tc.args, " "), r.stderr)
		}
	}
}
