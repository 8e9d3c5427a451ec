package cli

import (
	"strings"
	"testing"
)

// TestSetStatusKeepsTheDescription: a status set without --description
// keeps the description set before; --description "" clears it.
func TestSetStatusKeepsTheDescription(t *testing.T) {
	m := newHookMesh(t)
	bob := m.peer("bob")
	described := func() (status, description string) {
		t.Helper()
		insts, err := bob.List(hookCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range insts {
			if in.Name == "alice" {
				return in.Status, in.Description
			}
		}
		t.Fatalf("alice is not in list: %+v", insts)
		return "", ""
	}
	for _, step := range []struct {
		args                []string
		say                 string
		status, description string
	}{
		{[]string{"reviewing auth.go", "--description", "the reviewer"}, "status of alice: reviewing auth.go; description: the reviewer", "reviewing auth.go", "the reviewer"},
		{[]string{"testing", "auth.go"}, "status of alice: testing auth.go\n", "testing auth.go", "the reviewer"},
		{[]string{""}, "cleared the status of alice\n", "", "the reviewer"},
		{[]string{"idle", "--description", ""}, "status of alice: idle; cleared its description", "idle", ""},
	} {
		args := append([]string{"--as", "alice"}, step.args...)
		r := m.run("", "set-status", args...)
		label := "set-status " + strings.Join(step.args, " ")
		if r.code != 0 || !strings.Contains(r.stdout, step.say) {
			t.Errorf("%s: exit %d, stdout %q; want exit 0 and %q\nstderr: %s", label, r.code, r.stdout, step.say, r.stderr)
		}
		if status, desc := described(); status != step.status || desc != step.description {
			t.Errorf("after %s, list shows alice with status %q, description %q; want %q, %q", label, status, desc, step.status, step.description)
		}
	}
}
