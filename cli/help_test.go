package cli

import (
	"strings"
	"testing"
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
	} {
		var out, errb lockedBuffer
		e := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
		if code := Main(e, []string{typed}); code != 2 {
			t.Errorf("ipcmesh %s: exit %d, want 2", typed, code)
		}
		if !strings.Contains(errb.String(), want) {
			t.Errorf("ipcmesh %s: stderr %q, want %q", typed, errb.String(), want)
		}
	}
}
