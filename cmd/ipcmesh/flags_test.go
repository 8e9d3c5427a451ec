package main

import (
	"strings"
	"testing"
)

// Flags count anywhere before a "--", after the recipient too; what follows
// "--" is text; a flag that is none of the command's is refused and
// nothing is sent.
func TestFlagsAnywhereBeforeDashes(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	m.mustRun("register", "builder")

	m.mustRun("send", "reviewer", "hi", "--type", "request", "--as", "builder")
	m.mustRun("send", "--as", "builder", "reviewer", "--", "hi", "--type", "request")
	m.mustRun("broadcast", "all", "hands", "--as", "builder")
	r := m.run("send", "--as", "builder", "reviewer", "deploy", "--force")
	if r.code != 2 || !strings.Contains(r.stderr, "--force is not a flag of send") || !strings.Contains(r.stderr, `after "--"`) {
		t.Errorf("send with an unknown flag: want exit 2 naming --force and the way to send it as text, got %s", r)
	}

	got := m.check("--as", "reviewer").Messages
	if len(got) != 3 {
		t.Fatalf("reviewer got %d messages, want 3: %+v", len(got), got)
	}
	if got[0].Content != "hi" || got[0].Type != "request" || got[0].From != "builder" {
		t.Errorf("send reviewer hi --type request --as builder arrived as %q, type %q, from %q; want \"hi\", a request from builder", got[0].Content, got[0].Type, got[0].From)
	}
	if got[1].Content != "hi --type request" || got[1].Type != "" {
		t.Errorf("the words after -- arrived as %q, type %q; want them as text", got[1].Content, got[1].Type)
	}
	if got[2].Content != "all hands" || got[2].From != "builder" {
		t.Errorf("broadcast all hands --as builder arrived as %q from %q", got[2].Content, got[2].From)
	}
}

// A duration flag given a bare number says what it takes.
func TestDurationFlagSaysItsForm(t *testing.T) {
	m := newMesh(t)
	r := m.run("check", "--wait", "5")
	if r.code != 2 || !strings.Contains(r.stderr, "5s") || !strings.Contains(r.stderr, "duration") || strings.Contains(r.stderr, "parse error") {
		t.Errorf("check --wait 5: want exit 2 saying --wait takes a duration like 5s, got %s", r)
	}
}

// A number flag given something else says what it takes, as a duration
// flag does, rather than the flag package's "parse error".
func TestNumberFlagSaysItsForm(t *testing.T) {
	m := newMesh(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--limit", "ten"}, "--limit takes a whole number"},
		{[]string{"search", "word", "--limit", "1.5"}, "--limit takes a whole number"},
		{[]string{"history", "--with", "bob", "--before", "-1"}, "--before takes a whole number, 0 or more"},
		{[]string{"cluster", "--nodes", "three"}, "--nodes takes a whole number"},
	} {
		r := m.run(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "parse error") {
			t.Errorf("ipcmesh %s: want exit 2 saying %q, got %s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
}

// A count or a wait out of range is refused before anything is sent, with
// the flag and the value given named, and nothing said of the flags that
// were right (the usage line after the error names every flag).
func TestOutOfRangeFlagNamed(t *testing.T) {
	m := newMesh(t)
	for _, tc := range []struct {
		args      []string
		want, not string
	}{
		{[]string{"check", "--limit", "0"}, "--limit 0: want 1 to 1000", "--wait"},
		{[]string{"check", "--wait", "-5s"}, "--wait -5s: a wait cannot be negative", "--limit"},
		{[]string{"history", "--with", "bob", "--limit", "-1"}, "--limit -1: want 1 to 200", "--wait"},
		{[]string{"history", "--thread", "x", "--wait", "-1s"}, "--wait -1s", "--limit"},
		{[]string{"search", "--limit", "-5", "word"}, "--limit -5: want 1 to 100", "register"},
		// 0 as check has it, rather than the default number of messages.
		{[]string{"history", "--with", "bob", "--limit", "0"}, "--limit 0: want 1 to 200", "--wait"},
		{[]string{"history", "--thread", "x", "--limit", "0"}, "--limit 0: want 1 to 200, or leave it out for 200", "--wait"},
		{[]string{"search", "word", "--limit", "0"}, "--limit 0: want 1 to 100", "register"},
		// Two of what history shows one of: the error says there is one
		// too many, not one missing.
		{[]string{"history", "--with", "bob", "--channel", "ops"}, "give only one of --with, --channel and --thread", "needs"},
		// Over the most, rather than fewer than asked for without a word.
		{[]string{"check", "--limit", "5000"}, "--limit 5000: want 1 to 1000", "--wait"},
		{[]string{"history", "--with", "bob", "--limit", "500"}, "--limit 500: want 1 to 200", "--wait"},
		{[]string{"search", "--limit", "101", "word"}, "--limit 101: want 1 to 100", "register"},
	} {
		r := m.run(tc.args...)
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || !strings.Contains(first, tc.want) || strings.Contains(first, tc.not) {
			t.Errorf("ipcmesh %s: want exit 2 saying %q and nothing of %s, got %s", strings.Join(tc.args, " "), tc.want, tc.not, r)
		}
	}
}

// Settings read outside the mesh's own configuration are checked as its
// are: a log level or an HTTP rate nobody meant is refused, named, before
// anything starts.
func TestBadSettingNamed(t *testing.T) {
	for _, tc := range []struct {
		env  string
		args []string
		want string
	}{
		{"IPC_LOG=verbose", []string{"status"}, `IPC_LOG="verbose": want debug, info, warn or error`},
		{"IPC_RATE_LIMIT=NaN", []string{"status"}, `IPC_RATE_LIMIT="NaN"`},
		{"IPC_HTTP_RATE=NaN", []string{"serve", "--http", "127.0.0.1:0"}, `IPC_HTTP_RATE="NaN"`},
		{"IPC_NAME=bad name", []string{"send", "bob", "hi"}, `IPC_NAME: name "bad name" has ' '`},
	} {
		r := newMesh(t, tc.env).run(tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s ipcmesh %s: want a failure saying %q, got %s", tc.env, strings.Join(tc.args, " "), tc.want, r)
		}
	}
}

// A "-" after "--" is the text "-", not stdin: `send TO -- "$msg"` is how
// a script sends whatever $msg holds, and $msg may be "-". Before "--" it
// still reads stdin.
func TestDashAfterDashesIsText(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	m.mustRun("register", "builder")

	const stdin = "what stdin held\n"
	for _, args := range [][]string{
		{"send", "reviewer", "--", "-"},
		{"send", "--", "reviewer", "-"},
		{"broadcast", "--", "-"},
		{"send", "reviewer", "-"},
		{"broadcast", "-"},
	} {
		if r := m.runIn(stdin, args...); r.code != 0 {
			t.Fatalf("ipcmesh %s: %s", strings.Join(args, " "), r)
		}
	}
	got := m.check("--as", "reviewer").Messages
	want := []string{"-", "-", "-", stdin, stdin}
	if len(got) != len(want) {
		t.Fatalf("reviewer got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Content != w {
			t.Errorf("message %d arrived as %q, want %q", i+1, got[i].Content, w)
		}
	}
}

// A name flag given an empty value, as `--as "$WHO"` gives it when WHO is
// unset, is refused (exit 2) rather than taken for a flag left out: a
// script would act as the data folder's default name, read and mark read
// every message rather than one sender's, or answer outside the thread.
func TestEmptyNameFlagRefused(t *testing.T) {
	m := newMesh(t)
	m.mustRun("register", "reviewer")
	m.mustRun("register", "builder")
	m.mustRun("send", "--as", "builder", "reviewer", "for reviewer only")
	m.mustRun("register", "reviewer") // the default name, which an empty --as fell back to

	for _, args := range [][]string{
		{"check", "--as", ""},
		{"check", "--as", "reviewer", "--from", ""},
		{"send", "--as", "", "builder", "hi"},
		{"history", "--as", "reviewer", "--with", ""},
		{"send", "--as", "reviewer", "--reply-to", "", "builder", "done"},
	} {
		r := m.run(args...)
		flag := ""
		for i, a := range args {
			if a == "" {
				flag = args[i-1]
			}
		}
		if r.code != 2 || !strings.Contains(r.stderr, flag+" was given an empty value") {
			t.Errorf("ipcmesh %q: want exit 2 naming %s, got %s", args, flag, r)
		}
	}
	if got := m.check("--as", "reviewer").Messages; len(got) != 1 || got[0].Content != "for reviewer only" {
		t.Errorf("reviewer's mail after the refused commands: %+v, want the message still unread", got)
	}
	if got := m.check("--as", "builder").Messages; len(got) != 0 {
		t.Errorf("builder got %+v, want nothing sent", got)
	}
}

// A mistyped flag is answered with the flag likely meant, and only a
// command whose words are text someone writes offers "--" to send it as
// text: check, list or status take no text, so that way out would only
// mislead.
func TestUnknownFlagNamesTheOneMeant(t *testing.T) {
	m := newMesh(t)
	for _, tc := range []struct {
		args     []string
		want     string
		textHint bool
	}{
		{[]string{"check", "--limt", "5"}, "--limt is not a flag of check: did you mean --limit?", false},
		{[]string{"list", "--jsn"}, "--jsn is not a flag of list: did you mean --json?", false},
		{[]string{"status", "--verbose"}, "--verbose is not a flag of status (ipcmesh status --help lists them)", false},
		{[]string{"send", "reviewer", "hi", "--tipe", "request"}, "--tipe is not a flag of send: did you mean --type?", true},
		{[]string{"set-status", "busy", "--descr", "x"}, "--descr is not a flag of set-status: did you mean --description?", true},
	} {
		r := m.run(tc.args...)
		label := "ipcmesh " + strings.Join(tc.args, " ")
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: want exit 2 saying %q, got %s", label, tc.want, r)
		}
		if hint := strings.Contains(r.stderr, "to pass it as text"); hint != tc.textHint {
			t.Errorf("%s: offers to pass the flag as text: %v, want %v: %s", label, hint, tc.textHint, r)
		}
	}
}

// A flag that takes a value but ends the command line names itself with
// the dashes it is typed with and says what value it takes, not the flag
// package's "flag needs an argument: -wait".
func TestFlagWithoutValueSaysWhatItTakes(t *testing.T) {
	m := newMesh(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--wait"}, "--wait needs a value: --wait DURATION"},
		{[]string{"history", "--with"}, "--with needs a value: --with NAME"},
		{[]string{"send", "reviewer", "hi", "--type"}, "--type needs a value: --type TYPE, the message TYPE: message, request"},
	} {
		r := m.run(tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "needs an argument") {
			t.Errorf("ipcmesh %s: want exit 2 saying %q, got %s", strings.Join(tc.args, " "), tc.want, r)
		}
	}
}
