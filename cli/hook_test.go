package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/testbin"

	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
)

// hookMesh is a private mesh for one test: a free port on 127.0.0.1 and a
// data folder. Its peers run in this process; its commands run through Run
// with their own Env.
type hookMesh struct {
	t    *testing.T
	port int
	dir  string
}

func newHookMesh(t *testing.T) *hookMesh {
	t.Helper()
	// A short folder: hook wait keeps a Unix socket in it.
	dir, err := os.MkdirTemp("", "ipch")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return &hookMesh{t: t, port: port, dir: dir}
}

func (m *hookMesh) getenv(extra ...string) func(string) string {
	vars := map[string]string{
		"IPC_HOST":     "127.0.0.1",
		"IPC_PORT":     strconv.Itoa(m.port),
		"IPC_DATA_DIR": m.dir,
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// hookResult is what a command printed and how it ended.
type hookResult struct {
	code           int
	stdout, stderr string
}

func (m *hookMesh) env(stdin string, extra ...string) (Env, *testbin.Buffer, *testbin.Buffer) {
	var out, errb testbin.Buffer
	return Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: m.getenv(extra...)}, &out, &errb
}

// run runs an ipcmesh command in-process with the hook's stdin.
func (m *hookMesh) run(stdin string, cmd string, args ...string) hookResult {
	m.t.Helper()
	e, out, errb := m.env(stdin)
	code := Run(e, cmd, args)
	return hookResult{code, out.String(), errb.String()}
}

// peer joins the mesh as a long-lived peer (as an assistant's MCP server
// would be) and registers name.
func (m *hookMesh) peer(name string) *election.Peer {
	m.t.Helper()
	return m.peerWith(name)
}

func (m *hookMesh) send(p *election.Peer, to, content string) {
	m.t.Helper()
	if _, err := p.Send(hookCtx(m.t), to, content); err != nil {
		m.t.Fatalf("send to %s: %v", to, err)
	}
}

func (m *hookMesh) setAutoCheck(name string, s autocheck.Setting) {
	m.t.Helper()
	if err := autocheck.Save(m.dir, name, s); err != nil {
		m.t.Fatal(err)
	}
}

// unread returns name's unread messages without reading them.
func unreadContents(t *testing.T, p *election.Peer) []string {
	t.Helper()
	r, err := p.Check(hookCtx(t), 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, msg := range r.Messages {
		out = append(out, msg.Content)
	}
	return out
}

func hookCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// contextOutput parses the JSON a hook prints to add context.
func contextOutput(t *testing.T, stdout string) hookSpecific {
	t.Helper()
	var out struct {
		Specific *hookSpecific `json:"hookSpecificOutput"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || out.Specific == nil {
		t.Fatalf("stdout is not one hookSpecificOutput object (%v):\n%s", err, stdout)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than the JSON object:\n%s", stdout)
	}
	return *out.Specific
}

func TestHookCheckSilentWhenAutoCheckOff(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.send(reviewer, "builder", "please look at auth.go")

	r := m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("hook check with auto-check off = %+v, want exit 0 and no output", r)
	}
}

func TestHookCheckShowsUnreadMailAndLeavesItUnread(t *testing.T) {
	m := newHookMesh(t)
	builder := m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	m.send(reviewer, "builder", "please look at auth.go")
	m.send(reviewer, "builder", "and line 12\nof main.go")

	before := time.Now()
	r := m.run(`{"session_id":"abc","hook_event_name":"PostToolUse","tool_name":"Bash"}`, "hook", "check", "--as", "builder")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	out := contextOutput(t, r.stdout)
	if out.Event != "PostToolUse" {
		t.Errorf("hookEventName = %q, want the event from stdin, PostToolUse", out.Event)
	}
	for _, want := range []string{"2 unread messages for builder", "from reviewer", "please look at auth.go", "and line 12 of main.go", "check tool"} {
		if !strings.Contains(out.Context, want) {
			t.Errorf("additionalContext lacks %q:\n%s", want, out.Context)
		}
	}
	s, err := autocheck.Load(m.dir, "builder")
	if err != nil {
		t.Fatal(err)
	}
	if s.LastShown.Before(before) || s.IntervalMinutes != 5 {
		t.Errorf("setting after showing mail = %+v, want LastShown recorded and the interval kept", s)
	}
	// Nothing was marked read: a later check returns both messages.
	if got := unreadContents(t, builder); len(got) != 2 {
		t.Fatalf("after hook check, unread = %q, want both messages still unread", got)
	}
}

func TestHookCheckIsRateLimitedByTheInterval(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	m.send(reviewer, "builder", "ping")

	if r := m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder"); r.stdout == "" {
		t.Fatalf("first check showed nothing: %+v", r)
	}
	r := m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("check within the interval = %+v, want exit 0 and no output", r)
	}
	// Once the interval has passed, the mail (still unread) is shown again.
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5, LastShown: time.Now().Add(-6 * time.Minute)})
	r = m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if out := contextOutput(t, r.stdout); !strings.Contains(out.Context, "1 unread message for builder") {
		t.Fatalf("check after the interval: %q", out.Context)
	}
}

func TestHookCheckSaysNothingWithoutMail(t *testing.T) {
	m := newHookMesh(t)
	builder := m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
	m.send(reviewer, "builder", "already read")
	r, err := builder.Check(hookCtx(t), 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ackAll(hookCtx(t), builder, r.Messages); err != nil {
		t.Fatal(err)
	}

	res := m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if res.code != 0 || res.stdout != "" || res.stderr != "" {
		t.Fatalf("hook check with only read mail = %+v, want exit 0 and no output", res)
	}
	if s, _ := autocheck.Load(m.dir, "builder"); !s.LastShown.IsZero() {
		t.Errorf("LastShown recorded although nothing was shown: %+v", s)
	}
}

func TestHookCheckFormats(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.send(reviewer, "builder", "hello there")

	cases := []struct {
		stdin, format string
		wantEvent     string // "" for text
	}{
		{`{"hook_event_name":"AfterTool","tool_name":"read_file"}`, "gemini", "AfterTool"},
		{"", "gemini", "BeforeAgent"},      // no stdin: the prompt event
		{"", "claude", "UserPromptSubmit"}, // likewise
		{"not json", "text", ""},
	}
	for _, c := range cases {
		m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
		r := m.run(c.stdin, "hook", "check", "--as", "builder", "--format", c.format)
		if r.code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", c.format, r.code, r.stderr)
		}
		if c.wantEvent == "" {
			if !strings.HasPrefix(r.stdout, "ipcmesh: 1 unread message for builder:\n- from reviewer (") ||
				!strings.Contains(r.stdout, "): hello there\n") {
				t.Errorf("text output:\n%s", r.stdout)
			}
			continue
		}
		if out := contextOutput(t, r.stdout); out.Event != c.wantEvent || !strings.Contains(out.Context, "hello there") {
			t.Errorf("%s with stdin %q: %+v, want event %s", c.format, c.stdin, out, c.wantEvent)
		}
	}
}

// A tool call's input and output come on the hook's stdin too, and can be
// megabytes (a Write of a large file, a long command's output): the event
// named before them must still be the one the output is for, as Claude
// Code refuses context given for another event than the one it ran.
func TestHookCheckKnowsTheEventOfAHugeInput(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.send(reviewer, "builder", "hello there")

	big := strings.Repeat("x", 3<<20)
	cases := []struct{ format, stdin, want string }{
		{"claude", `{"session_id":"s","transcript_path":"/t","cwd":"/","hook_event_name":"PostToolUse","tool_name":"Write","tool_input":{"file_path":"/f","content":"` + big + `"},"tool_response":{"success":true}}`, "PostToolUse"},
		{"gemini", `{"session_id":"s","cwd":"/","hook_event_name":"AfterTool","tool_name":"read_file","tool_response":{"llmContent":"` + big + `"}}`, "AfterTool"},
		// The event after the bulk: found all the same.
		{"claude", `{"tool_response":{"stdout":"` + big + `","list":[1,{"a":[]}]},"hook_event_name":"PostToolUseFailure"}`, "PostToolUseFailure"},
	}
	for _, c := range cases {
		m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
		r := m.run(c.stdin, "hook", "check", "--as", "builder", "--format", c.format)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s: exit %d, stderr %q", c.want, r.code, r.stderr)
		}
		if out := contextOutput(t, r.stdout); out.Event != c.want || !strings.Contains(out.Context, "hello there") {
			t.Errorf("%s input of %d bytes: hookEventName %q, want %q", c.format, len(c.stdin), out.Event, c.want)
		}
	}
}

func TestHookCheckIdentity(t *testing.T) {
	m := newHookMesh(t)
	reviewer := m.peer("reviewer")
	m.peer("builder") // registered last: the data folder's current name
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
	m.setAutoCheck("reviewer", autocheck.Setting{IntervalMinutes: 1})
	m.send(reviewer, "builder", "for builder")
	m.send(reviewer, "reviewer", "for reviewer")

	r := m.run("", "hook", "check")
	if out := contextOutput(t, r.stdout); !strings.Contains(out.Context, "for builder") {
		t.Errorf("without --as, the name registered last: %q", out.Context)
	}
	e, out, _ := m.env("", "IPC_NAME=reviewer")
	if code := Run(e, "hook", []string{"check"}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if c := contextOutput(t, out.String()); !strings.Contains(c.Context, "for reviewer") {
		t.Errorf("with IPC_NAME=reviewer: %q", c.Context)
	}
}

// quietFailure asserts the hook contract for errors: exit 0, nothing on
// stdout, one line on stderr.
func quietFailure(t *testing.T, what string, r hookResult) {
	t.Helper()
	if r.code != 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "ipcmesh hook") {
		t.Errorf("%s: %+v, want exit 0, no stdout, one line on stderr", what, r)
	}
}

func TestHookCheckNeverFailsTheTurn(t *testing.T) {
	m := newHookMesh(t)
	// No broker at all: a hook may host one for its run, but a name this
	// data folder never registered has no session to resume.
	m.setAutoCheck("ghost", autocheck.Setting{IntervalMinutes: 1})
	quietFailure(t, "unregistered name", m.run("", "hook", "check", "--as", "ghost"))
	// No name at all.
	other := newHookMesh(t)
	quietFailure(t, "no name", other.run("", "hook", "check"))
	// Mistakes in the hook's configuration, which would otherwise block
	// every prompt.
	quietFailure(t, "bad format", m.run("", "hook", "check", "--format", "vim"))
	quietFailure(t, "bad flag", m.run("", "hook", "check", "--bogus"))
	quietFailure(t, "no subcommand", m.run("", "hook"))
	// An event that cannot take context.
	m.peer("builder")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
	quietFailure(t, "Stop event", m.run(`{"hook_event_name":"Stop"}`, "hook", "check", "--as", "builder"))

	// The port is held by something that is not a mesh broker.
	foreign := testbin.ForeignListener(t)
	bad := newHookMesh(t)
	_, port, _ := net.SplitHostPort(foreign)
	bad.port, _ = strconv.Atoi(port)
	bad.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
	quietFailure(t, "no broker reachable", bad.run("", "hook", "check", "--as", "builder"))
}

// waitHook runs hook wait in the background; its hookResult arrives on the
// channel.
func (m *hookMesh) waitHook(args ...string) (<-chan error, *testbin.Buffer, *testbin.Buffer) {
	e, out, errb := m.env(`{"hook_event_name":"Stop","stop_hook_active":false}`)
	done := make(chan error, 1)
	go func() { done <- runHook(context.Background(), e, append([]string{"wait"}, args...)) }()
	return done, out, errb
}

func awaitHook(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("hook wait did not return")
		return nil
	}
}

func exitCodeOf(err error) int {
	var ex *exitStatus
	if errors.As(err, &ex) {
		return ex.code
	}
	if err != nil {
		return 1
	}
	return 0
}

func TestHookWaitWakesClaudeWhenMailArrives(t *testing.T) {
	m := newHookMesh(t)
	builder := m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})

	done, out, errb := m.waitHook("--as", "builder", "--timeout", "1m")
	m.send(reviewer, "builder", "review done: two nits")
	err := awaitHook(t, done)
	if code := exitCodeOf(err); code != 2 {
		t.Fatalf("hook wait ended with %v (exit %d), want exit 2, which wakes Claude", err, code)
	}
	if out.String() != "" {
		t.Errorf("stdout %q, want nothing: Claude reads stderr on exit 2", out.String())
	}
	for _, want := range []string{"1 unread message for builder", "from reviewer", "review done: two nits", "check tool"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if got := unreadContents(t, builder); len(got) != 1 {
		t.Fatalf("after hook wait, unread = %q: it must not mark mail read", got)
	}
	if w, _ := autocheck.LoadWake(m.dir, "builder"); w.Seq == 0 {
		t.Error("the wake was not remembered")
	}

	// The assistant stops again without reading the mail: the next waiter
	// does not wake it for the same mail, only for new mail.
	done, _, errb = m.waitHook("--as", "builder", "--timeout", "1m")
	m.send(reviewer, "builder", "one more thing")
	if code := exitCodeOf(awaitHook(t, done)); code != 2 {
		t.Fatalf("second wait: exit %d", code)
	}
	if !strings.Contains(errb.String(), "one more thing") || !strings.Contains(errb.String(), "2 unread messages") {
		t.Errorf("second wake:\n%s", errb.String())
	}
}

func TestHookWaitDoesNotWakeTwiceForTheSameMail(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	m.send(reviewer, "builder", "unread, and already announced")

	done, _, _ := m.waitHook("--as", "builder", "--timeout", "1m")
	if code := exitCodeOf(awaitHook(t, done)); code != 2 {
		t.Fatalf("mail waiting at the start: exit %d, want 2", code)
	}
	e, out, errb := m.env("")
	code := Run(e, "hook", []string{"wait", "--as", "builder", "--timeout", "300ms"})
	if code != 0 || out.String() != "" || errb.String() != "" {
		t.Fatalf("wait with only announced mail = exit %d, stdout %q, stderr %q; want a quiet timeout", code, out.String(), errb.String())
	}
}

func TestHookWaitTimesOutQuietly(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	r := m.run("", "hook", "wait", "--as", "builder", "--timeout", "200ms")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("hook wait with no mail = %+v, want exit 0 and no output", r)
	}
}

func TestHookWaitOffOrBrokenIsQuiet(t *testing.T) {
	m := newHookMesh(t)
	reviewer := m.peer("reviewer")
	m.peer("builder")
	m.send(reviewer, "builder", "mail nobody asked to be woken for")
	// Auto-check off: returns at once (the timeout would fail the test).
	r := m.run("", "hook", "wait", "--as", "builder", "--timeout", "1h")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("hook wait with auto-check off = %+v, want exit 0 and no output", r)
	}
	quietFailure(t, "bad timeout", m.run("", "hook", "wait", "--timeout", "-1s"))
	m.setAutoCheck("ghost", autocheck.Setting{IntervalMinutes: 1})
	quietFailure(t, "unregistered name", m.run("", "hook", "wait", "--as", "ghost", "--timeout", "1h"))
}

func TestHookWaitGeminiAndTextFormats(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})

	m.send(reviewer, "builder", "first")
	r := m.run("", "hook", "wait", "--as", "builder", "--format", "gemini", "--timeout", "1m")
	var dec hookDecision
	if err := json.Unmarshal([]byte(r.stdout), &dec); err != nil || r.code != 0 {
		t.Fatalf("gemini wake = %+v (%v)", r, err)
	}
	if dec.Decision != "deny" || !strings.Contains(dec.Reason, "first") {
		t.Errorf("gemini wake decision = %+v, want deny with the notice as reason", dec)
	}

	m.send(reviewer, "builder", "second")
	r = m.run("", "hook", "wait", "--as", "builder", "--format", "text", "--timeout", "1m")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "ipcmesh: 2 unread messages for builder:") {
		t.Fatalf("text wake = %+v", r)
	}
}

func TestHookWaitNewWaiterSupersedesTheOld(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})

	// Two waiters for one name (the assistant stopped twice): whichever
	// claims the name second supersedes the other, which ends quietly at
	// once; the survivor wakes the assistant for the mail.
	first, _, firstErr := m.waitHook("--as", "builder", "--timeout", "1m")
	second, _, secondErr := m.waitHook("--as", "builder", "--timeout", "1m")
	var quiet, woken error
	var wokenErr *testbin.Buffer
	select {
	case quiet = <-first:
		wokenErr = secondErr
		m.send(reviewer, "builder", "for the survivor")
		woken = awaitHook(t, second)
	case quiet = <-second:
		wokenErr = firstErr
		m.send(reviewer, "builder", "for the survivor")
		woken = awaitHook(t, first)
	case <-time.After(30 * time.Second):
		t.Fatal("neither waiter gave way to the other")
	}
	if quiet != nil {
		t.Errorf("superseded waiter ended with %v, want a quiet end", quiet)
	}
	if exitCodeOf(woken) != 2 || !strings.Contains(wokenErr.String(), "for the survivor") {
		t.Errorf("surviving waiter: %v, stderr %q", woken, wokenErr.String())
	}
}

func TestHookWaitSkipsHeadlessClaude(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	// claude -p sets this for its hooks, and does not exit while a
	// background hook runs: the wait must end at once (the timeout would
	// fail the test).
	e, out, errb := m.env("", "CLAUDE_CODE_ENTRYPOINT=sdk-cli")
	if code := Run(e, "hook", []string{"wait", "--as", "builder", "--timeout", "1h"}); code != 0 || out.String() != "" || errb.String() != "" {
		t.Fatalf("hook wait under claude -p = exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

// TestHookRunsWhenItCannotBeRecorded: an IPC_PROFILE_DIR the hook cannot
// write to is a line on stderr, and the hook does its work and exits 0,
// as it does whatever goes wrong.
func TestHookRunsWhenItCannotBeRecorded(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.send(reviewer, "builder", "please look at auth.go")
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"IPC_PROFILE_DIR", "IPC_TRACE_DIR"} {
		// Never shown yet, so shown now.
		m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 1})
		e, out, errb := m.env(`{"hook_event_name":"UserPromptSubmit"}`, env+"="+filepath.Join(file, "profiles"))
		code := Run(e, "hook", []string{"check", "--as", "builder"})
		if code != 0 || !strings.Contains(errb.String(), env) {
			t.Errorf("hook check with %s under a file: exit %d, stderr %q; want exit 0 and a word on %s", env, code, errb, env)
		}
		if c := contextOutput(t, out.String()); !strings.Contains(c.Context, "please look at auth.go") {
			t.Errorf("hook check with %s under a file showed %q; want the mail", env, c.Context)
		}
	}
}

// TestHookCheckSaysOnceThatADamagedSettingTurnedAutoCheckOff: the hook's
// stderr is not shown on exit 0, so a damaged setting is told to the
// assistant, once, with what turns auto checking on again.
func TestHookCheckSaysOnceThatADamagedSettingTurnedAutoCheckOff(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.send(reviewer, "builder", "mail the damaged setting hides")
	p := filepath.Join(autocheck.Dir(m.dir), "builder.json")
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(`{"interval_minutes": 5`), 0o600); err != nil {
		t.Fatal(err)
	}

	r := m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	out := contextOutput(t, r.stdout)
	for _, want := range []string{"auto checking", "builder", "damaged", p + ".damaged", "auto_check"} {
		if !strings.Contains(out.Context, want) {
			t.Errorf("additionalContext lacks %q:\n%s", want, out.Context)
		}
	}
	if s, err := autocheck.Load(m.dir, "builder"); err != nil || s != (autocheck.Setting{}) {
		t.Errorf("after the hook, the setting is %+v, %v; want off, the damaged file set aside", s, err)
	}
	r = m.run(`{"hook_event_name":"UserPromptSubmit"}`, "hook", "check", "--as", "builder")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("the next hook check = %+v, want exit 0 and no output: the assistant was told once", r)
	}
}

// TestHookWaitWakesPastADamagedWakeState: the wake state only spares a
// second wake for the same mail; damaged, it ended every wait at once.
func TestHookWaitWakesPastADamagedWakeState(t *testing.T) {
	m := newHookMesh(t)
	m.peer("builder")
	reviewer := m.peer("reviewer")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	p := filepath.Join(autocheck.Dir(m.dir), "builder.wake.json")
	if err := os.WriteFile(p, []byte(`{"seq": `), 0o600); err != nil {
		t.Fatal(err)
	}

	done, _, errb := m.waitHook("--as", "builder", "--timeout", "1m")
	m.send(reviewer, "builder", "wake up")
	if code := exitCodeOf(awaitHook(t, done)); code != 2 {
		t.Fatalf("hook wait with a damaged wake state: exit %d, stderr %q; want 2, woken for the mail", code, errb.String())
	}
	if w, err := autocheck.LoadWake(m.dir, "builder"); err != nil || w.Seq == 0 {
		t.Errorf("wake state after the wake = %+v, %v; want the mail's seq saved over the damaged file", w, err)
	}
}

// TestHookWaitEndsWhenTheAssistantIsGone: Claude Code leaves a Stop hook
// with asyncRewake running when the user exits it. Waiting on, the hook
// would hold the name for up to its --timeout, and the next session's MCP
// server could not register it ("in use by another connected instance").
// Once nothing reads the hook's output, it ends quietly.
func TestHookWaitEndsWhenTheAssistantIsGone(t *testing.T) {
	m := newHookMesh(t)
	m.peer("reviewer") // the broker stays in this one
	builder := m.peer("builder")
	m.setAutoCheck("builder", autocheck.Setting{IntervalMinutes: 5})
	builder.Close() // the session's MCP server ends with it

	// The hook's output goes to a pipe the assistant reads, as Claude
	// Code's does; the assistant exiting closes the pipe's other end.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	e, _, _ := m.env(`{"hook_event_name":"Stop","stop_hook_active":false}`)
	e.Stdout, e.Stderr = w, w
	done := make(chan error, 1)
	go func() {
		done <- runHook(context.Background(), e, []string{"wait", "--as", "builder", "--timeout", "10m"})
	}()
	r.Close()
	if err := awaitHook(t, done); err != nil {
		t.Fatalf("hook wait whose assistant is gone ended with %v, want a quiet end", err)
	}
	m.peer("builder") // the next session registers the name
}

// An input whose event comes after its bulk, written by a client busy
// between its writes (more than a second in all, never a second without
// a byte), keeps its event: a bound on the whole read lost it on a busy
// machine. A client that keeps stdin open and writes nothing costs the
// hook a second, and the event only.
func TestHookEventOfASlowInput(t *testing.T) {
	r, w := io.Pipe()
	go func() {
		io.WriteString(w, `{"tool_response":{"stdout":"`)
		chunk := strings.Repeat("x", 64<<10)
		for range 8 {
			time.Sleep(200 * time.Millisecond) // the client, busy
			io.WriteString(w, chunk)
		}
		io.WriteString(w, `"},"hook_event_name":"PostToolUse"}`)
		w.Close()
	}()
	if got := readHookEvent(r, hookInputIdle); got != "PostToolUse" {
		t.Errorf("the event of an input written over 1.6 s: %q, want PostToolUse", got)
	}

	silent, open := io.Pipe()
	defer open.Close()
	if got := readHookEvent(silent, hookInputIdle); got != "" {
		t.Errorf("the event of an input never written: %q, want none", got)
	}
}

// An input whose bulk comes before its event, all of it there at once,
// keeps its event however long the hook takes to decode the bulk: that
// time is the hook's work, not the client's silence. On a busy machine
// the decoding of a few megabytes took longer than the idle bound.
func TestHookEventAfterABulkSlowToDecode(t *testing.T) {
	// Far more than a read from memory takes, even on a busy machine.
	const idle = 250 * time.Millisecond
	bulk := strings.Repeat("x", 16<<20) // decoding it takes far longer than idle
	in := `{"tool_response":{"stdout":"` + bulk + `"},"hook_event_name":"PostToolUse"}`
	// Read as from a pipe, a piece at a time: each read returns at once.
	r := &pieces{r: strings.NewReader(in), max: 64 << 10}
	start := time.Now()
	if got := readHookEvent(r, idle); got != "PostToolUse" {
		t.Errorf("the event after %d bytes there at once, decoded in %v: %q, want PostToolUse", len(bulk), time.Since(start).Round(time.Millisecond), got)
	}
}

// pieces reads at most max bytes at a time, as a pipe does.
type pieces struct {
	r   io.Reader
	max int
}

func (p *pieces) Read(b []byte) (int, error) { return p.r.Read(b[:min(len(b), p.max)]) }
