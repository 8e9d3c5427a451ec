package cli

import (
	"strings"
	"testing"
)

// The standalone programs are the commands under their own names: what
// one says about itself (its errors, its usage line, its help and the
// command lines it suggests) names the program that was typed, never
// "ipcmesh send" for a user who typed ipc_send.
func TestStandaloneProgramsNameThemselves(t *testing.T) {
	m := newHookMesh(t)
	for _, tc := range []struct {
		program, cmd string
		args         []string
		code         int
		stdout       []string
		stderr       []string
	}{
		{"ipc_send", "send", nil, 2, nil, []string{
			"ipc_send: send needs a recipient and a message (a '#channel' must be quoted: the shell drops an unquoted # and the rest of the line)\n",
			"usage: ipc_send [--type T] [--reply-to ID] [--shared KEY] [--id ID] TO MESSAGE... | TO - [--lines] [--json] (ipc_send --help says more)\n",
		}},
		{"ipc_send", "send", []string{"bob", "hi", "--bogus"}, 2, nil, []string{
			"ipc_send: --bogus is not a flag of send (ipc_send --help lists them); to pass it as text, put it after \"--\", as in: ipc_send ... -- --bogus\n",
		}},
		{"ipc_check", "check", []string{"reviewer"}, 2, nil, []string{
			"ipc_check: check takes no name",
			"ipc_check --as reviewer", "ipc_check --from reviewer",
			"usage: ipc_check [--wait 30s]",
		}},
		{"ipc_register", "register", nil, 2, nil, []string{"ipc_register: ", "usage: ipc_register NAME [--json] (ipc_register --help says more)\n"}},
		{"ipc_rename", "rename", []string{"a", "b"}, 2, nil, []string{"ipc_rename: ", "usage: ipc_rename NEW (ipc_rename --help says more)\n"}},
		{"ipc_list", "list", []string{"reviewer"}, 2, nil, []string{"ipc_list: ", "usage: ipc_list [--json] (ipc_list --help says more)\n"}},
		{"ipc_send", "send", []string{"--help"}, 0, []string{
			"usage: ipc_send [--type T]",
			"example:\n  ipc_send reviewer \"please review cli/send.go\" --type request\n",
		}, nil},
		{"ipc_check", "check", []string{"-h"}, 0, []string{"usage: ipc_check [--wait 30s]", "example:\n  ipc_check --from reviewer --wait 10m\n"}, nil},
	} {
		label := tc.program + " " + strings.Join(tc.args, " ")
		e, out, errb := m.env("")
		e.Program = tc.program
		code := Run(e, tc.cmd, tc.args)
		stdout, stderr := out.String(), errb.String()
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", label, code, tc.code, stdout, stderr)
		}
		for _, w := range tc.stdout {
			if !strings.Contains(stdout, w) {
				t.Errorf("%s: stdout %q; want it to say %q", label, stdout, w)
			}
		}
		for _, w := range tc.stderr {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q; want it to say %q", label, stderr, w)
			}
		}
		if both := stdout + stderr; strings.Contains(both, "ipcmesh "+tc.cmd) {
			t.Errorf("%s calls itself ipcmesh %s:\n%s", label, tc.cmd, both)
		}
	}
}
