package cli

import (
	"regexp"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// A mistyped command is answered with the command it is closest to, as
// the README promises for every command, help among them: help is no
// entry of the command list, so it must be offered on its own.
func TestMistypedCommandIsAnsweredWithTheClosest(t *testing.T) {
	for typed, want := range map[string]string{
		"sned":    "did you mean send?",
		"stauts":  "did you mean status?",
		"hlep":    "did you mean help?",
		"versoin": "did you mean version?",
		// After a flag given first, the mistyped word is still the
		// command meant: "--as me" is no command of its own.
		"--as me chek":    `unknown command "chek": did you mean check?`,
		"--json lsit":     `unknown command "lsit": did you mean list?`,
		"--as bob sned x": `unknown command "sned": did you mean send?`,
		// -v asks for the version in many programs: it is --version here.
		"-v": "ipcmesh --version (or ipcmesh version) prints the version",
	} {
		var out, errb testbin.Buffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Main(e, strings.Fields(typed)); code != 2 {
			t.Errorf("ipcmesh %s: exit %d, want 2", typed, code)
		}
		if !strings.Contains(errb.String(), want) {
			t.Errorf("ipcmesh %s: stderr %q, want %q", typed, errb.String(), want)
		}
	}
}

// goTypeName is a flag's placeholder the flag package makes of its Go
// type when the usage names none ("--label string"): a word for a
// programmer, and not the one the usage line shows.
var goTypeName = regexp.MustCompile(`(?m)^  --[a-z-]+ (string|int|uint|float|value)\b`)

// Every flag in every command's help names what it takes in the words of
// the usage line (--description D, --remote URL), never its Go type.
func TestHelpFlagsNameWhatTheyTake(t *testing.T) {
	for _, c := range commands() {
		var out, errb testbin.Buffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Main(e, []string{c.name, "--help"}); code != 0 {
			t.Fatalf("ipcmesh %s --help: exit %d: %s", c.name, code, errb.String())
		}
		for _, m := range goTypeName.FindAllString(out.String(), -1) {
			t.Errorf("ipcmesh %s --help lists %q: name the value as the usage line does", c.name, strings.TrimSpace(m))
		}
	}
}

// The usage line of every command names every flag its help lists: it is
// what a command called wrongly prints, and a flag it leaves out (send's
// --id, under a refusal of that very flag) reads as one the command does
// not take. --as, which the help of every command acting as a name
// explains, and the broker's own --detached are left out; the broker's
// usage gives the flags of serve past --tls-key as "...".
func TestUsageLineNamesEveryFlag(t *testing.T) {
	unlisted := map[string]bool{"--as": true, "--detached": true}
	serveFlags := map[string]bool{"--allow-host": true, "--allow-origin": true, "--insecure": true}
	helpArgs := map[string][][]string{
		"hook": {{"check", "--help"}, {"wait", "--help"}},
		"key":  {{"create", "--help"}},
	}
	for _, c := range commands() {
		for _, args := range append(helpArgs[c.name], []string{"--help"}) {
			var out, errb testbin.Buffer
			e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
			if code := Main(e, append([]string{c.name}, args...)); code != 0 {
				t.Fatalf("ipcmesh %s %v: exit %d: %s", c.name, args, code, errb.String())
			}
			for _, f := range helpFlag.FindAllStringSubmatch(out.String(), -1) {
				flag := f[1]
				if unlisted[flag] || c.name == "broker" && serveFlags[flag] {
					continue
				}
				if !regexp.MustCompile(regexp.QuoteMeta(flag) + `\b`).MatchString(c.args) {
					t.Errorf("ipcmesh %s's usage line %q does not name %s, which its help lists", c.name, c.args, flag)
				}
			}
		}
	}
}

// ipcmesh hook --help (and ipcmesh help hook) lists the flags its usage
// line names, as every other command's help does, and says that
// --timeout is wait's.
func TestHookHelpListsItsFlags(t *testing.T) {
	for _, args := range [][]string{{"hook", "--help"}, {"help", "hook"}, {"hook", "-h"}} {
		var out, errb testbin.Buffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Main(e, args); code != 0 {
			t.Fatalf("ipcmesh %v: exit %d: %s", args, code, errb.String())
		}
		for _, want := range []string{"\n  --format CLIENT", "\n  --as NAME", "\n  --timeout DURATION", "hook wait only"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("ipcmesh %v:\n%s\nwant it to list %q", args, out.String(), strings.TrimSpace(want))
			}
		}
	}
}
