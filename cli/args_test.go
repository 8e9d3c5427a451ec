package cli

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/ipcmesh/ipcmesh/internal/testbin"
)

// cancelOnWrite calls off a command as soon as it writes: a command that
// takes an argument wrongly says so and ends, while one that goes on to do
// its work (watch says whose mail it watches) is stopped there.
type cancelOnWrite struct {
	testbin.Buffer
	cancel context.CancelFunc
}

func (w *cancelOnWrite) Write(p []byte) (int, error) {
	w.cancel()
	return w.Buffer.Write(p)
}

// runCalledOff runs the command name with args in-process, called off at
// its first word on stderr, and returns what it printed and its exit status.
func (m *hookMesh) runCalledOff(ctx context.Context, name string, args ...string) hookResult {
	m.t.Helper()
	cmd, ok := lookup(name)
	if !ok {
		m.t.Fatalf("no command %s", name)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e, out, _ := m.env("")
	errb := &cancelOnWrite{cancel: cancel}
	e.Stderr = errb
	code := runCommand(ctx, e, cmd, args)
	return hookResult{code, out.String(), errb.String()}
}

// TestCommandsActingAsANameRefuseOne gives unregister, check and watch the
// name of another instance than the data folder's default: each acts as
// --as NAME, IPC_NAME or the default name, so each refuses the word and
// says how to act as it, and the default name's session and mail are left
// alone.
func TestCommandsActingAsANameRefuseOne(t *testing.T) {
	m := newHookMesh(t)
	reviewer := m.peer("reviewer")
	builder := m.peer("builder") // registered last: the data folder's default name
	m.send(reviewer, "builder", "the build is red")

	for _, tc := range []struct {
		cmd  string
		args []string
		want []string
	}{
		{"check", []string{"reviewer"}, []string{"check takes no name", "ipcmesh check --as reviewer", "ipcmesh check --from reviewer"}},
		{"check", []string{"--peek", "reviewer", "--json"}, []string{"check takes no name", "ipcmesh check --as reviewer"}},
		{"watch", []string{"reviewer"}, []string{"watch takes no name", "ipcmesh watch --as reviewer"}},
		{"unregister", []string{"reviewer"}, []string{"unregister takes no name", "ipcmesh unregister --as reviewer"}},
		{"unregister", []string{"reviewer", "builder"}, []string{`unregister takes no arguments, got "reviewer builder"`, "--as NAME"}},
	} {
		label := tc.cmd + " " + strings.Join(tc.args, " ")
		r := m.runCalledOff(context.Background(), tc.cmd, tc.args...)
		if r.code != 2 || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q; want exit 2 and nothing on stdout\nstderr: %s", label, r.code, r.stdout, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr %q; want it to say %q", label, r.stderr, w)
			}
		}
	}

	if got := unreadContents(t, builder); !slices.Equal(got, []string{"the build is red"}) {
		t.Errorf("builder's unread mail is %q; want its message still unread", got)
	}
	insts, err := reviewer.List(hookCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, in := range insts {
		names = append(names, in.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"builder", "reviewer"}) {
		t.Errorf("registered: %q; want builder and reviewer both still registered", names)
	}
}

// TestCommandsWithoutArgumentsRefuseStrayOnes: a word that list, status,
// broker, serve or demo would ignore is refused before anything starts.
// The commands run called off from the start, so that one that took no
// notice of the word ends at once rather than serving.
func TestCommandsWithoutArgumentsRefuseStrayOnes(t *testing.T) {
	m := newHookMesh(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		cmd  string
		args []string
	}{
		{"list", []string{"reviewer"}},
		{"status", []string{"--json", "broker"}},
		{"broker", []string{"now"}},
		{"serve", []string{"--http", "127.0.0.1:0", "now"}},
		{"demo", []string{"quick"}},
	} {
		label := tc.cmd + " " + strings.Join(tc.args, " ")
		r := m.runCalledOff(ctx, tc.cmd, tc.args...)
		want := tc.cmd + " takes no arguments, got " + `"` + tc.args[len(tc.args)-1] + `"`
		if r.code != 2 || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and %q", label, r.code, r.stderr, want)
		}
	}
}
