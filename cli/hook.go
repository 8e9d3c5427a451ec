package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
)

// Hooks are run by assistants (Claude Code, Gemini CLI) around every prompt,
// tool call or stop. Two rules follow from that:
//
//   - A hook never fails the assistant's turn. Whatever goes wrong (no
//     broker, no session, a bad flag in the hook's configuration), it
//     prints nothing on stdout, one line on stderr, and exits 0. The only
//     other exit status is the one a client's protocol gives meaning to:
//     2 from `hook wait --format claude`, which wakes Claude.
//   - A hook never marks mail read. It tells the assistant that mail is
//     waiting and to call the check tool, which shows it and acks it.
//
// Contracts (Claude Code: code.claude.com/docs/en/hooks; Gemini CLI:
// geminicli.com/docs/hooks/reference):
//
//	hook check --format claude  stdout {"hookSpecificOutput": {"hookEventName": E,
//	                            "additionalContext": TEXT}}, exit 0; E from the
//	                            hook's stdin (UserPromptSubmit, PostToolUse, ...)
//	hook check --format gemini  the same object, for BeforeAgent, AfterTool or
//	                            SessionStart
//	hook wait --format claude   TEXT on stderr, exit 2: as a Stop hook with
//	                            "asyncRewake": true it wakes an idle Claude;
//	                            as a plain Stop hook it keeps Claude going
//	hook wait --format gemini   stdout {"decision": "deny", "reason": TEXT}, exit
//	                            0: as an AfterAgent hook Gemini takes TEXT as
//	                            its next prompt
//	--format text               TEXT on stdout, exit 0

// hookCheckTimeout bounds a whole `hook check`: it runs before every prompt
// and after every tool call, so it must be quick or say nothing.
const hookCheckTimeout = 5 * time.Second

// hookShown is how many messages a hook describes one by one.
const hookShown = 10

func runHook(ctx context.Context, e Env, args []string) error {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	var err error
	switch sub {
	case "check":
		err = hookCheck(ctx, e, args[1:])
	case "wait":
		err = hookWait(ctx, e, args[1:])
	case "-h", "--help", "help":
		// The flags of wait, which are check's and --timeout: the
		// help of hook lists every flag its usage line names.
		var h hookFlags
		_, err := h.parseWait([]string{"--help"})
		return err
	default:
		err = errors.New("say check (show unread mail) or wait (wait for mail to wake an idle assistant)")
	}
	var ex *exitStatus
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.As(err, &ex) {
		return err
	}
	fmt.Fprintf(e.Stderr, "%s: %s\n", strings.TrimSpace("ipcmesh hook "+sub), oneLine(err))
	return nil
}

// exitStatus ends a command with the given exit status and nothing more on
// stderr: what the command had to say, it has said.
type exitStatus struct{ code int }

func (e *exitStatus) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// hookFlags are the flags both hooks take.
type hookFlags struct {
	id     identity
	format string
}

func (h *hookFlags) parse(name string, args []string, more func(*flag.FlagSet)) error {
	fs := flags(name)
	h.id.register(fs)
	fs.StringVar(&h.format, "format", "claude", "output for `CLIENT`: claude, gemini or text")
	if more != nil {
		more(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	switch h.format {
	case "claude", "gemini", "text":
		return nil
	}
	return usagef("--format %q: want claude, gemini or text", h.format)
}

// target finds the mesh configuration and the name a hook acts as: the
// name the MCP server of the hook's assistant session acts as, else --as,
// IPC_NAME, or the name registered last from the data folder. It returns
// no name, and no error, when the name it would act as is another
// session's: the hook then has nothing to do. A hook only resumes names:
// it never registers one.
func (h *hookFlags) target(e Env) (election.Config, string, error) {
	cfg, err := meshConfig(e)
	if err != nil {
		return cfg, "", err
	}
	name := h.id.name(e)
	if session := e.Getenv(claudeSession); session != "" {
		// The name the session's MCP server acts as wins over --as and
		// IPC_NAME, which say what it was meant to register: another
		// session may hold that name, and the model may have chosen or
		// renamed to another.
		acting, err := autocheck.SessionName(cfg.DataDir, session)
		if err != nil {
			cfg.Logger.Debug("cannot tell the name of the session's MCP server", "err", err)
		}
		if acting != "" {
			return cfg, acting, nil
		}
		if name != "" {
			// Two sessions given one IPC_NAME: until this one's server
			// has registered a name of its own, that name's mail and
			// wakes are the other session's.
			if other, _ := autocheck.OtherSessionActsAs(cfg.DataDir, session, name); other {
				cfg.Logger.Debug("another session acts as the name", "name", name)
				return cfg, "", nil
			}
		}
	}
	if name == "" {
		if name, err = (auth.Keyring{Dir: cfg.DataDir}).Current(); err != nil {
			return cfg, "", fmt.Errorf("no name to act as: pass --as NAME, set IPC_NAME, or register one (ipcmesh register NAME)")
		}
	}
	return cfg, name, ipcmesh.ValidateName(name)
}

// claudeSession is the variable in which Claude Code gives its MCP servers
// and hooks the id of their session.
const claudeSession = "CLAUDE_CODE_SESSION_ID"

// markHook records that a hook runs for name, so that auto_check can tell
// the model whether any hook will act on its setting. Failing costs only
// that.
func markHook(cfg election.Config, name string) {
	if err := autocheck.MarkHook(cfg.DataDir, name); err != nil {
		cfg.Logger.Debug("could not record the hook's run", "err", err)
	}
}

// hookContextEvents are the events whose output can add context for the
// assistant, per client, the prompt event first.
var hookContextEvents = map[string][]string{
	"claude": {"UserPromptSubmit", "PostToolUse", "PostToolUseFailure", "PreToolUse", "SessionStart"},
	"gemini": {"BeforeAgent", "AfterTool", "SessionStart"},
}

func hookCheck(ctx context.Context, e Env, args []string) (err error) {
	var h hookFlags
	if err := h.parse("hook check", args, nil); err != nil {
		return err
	}
	event, err := h.contextEvent(readHookEvent(e.Stdin, hookInputIdle))
	if err != nil {
		return err
	}
	cfg, name, err := h.target(e)
	if err != nil || name == "" {
		return err
	}
	markHook(cfg, name)
	now := time.Now()
	setting, err := autocheck.Load(cfg.DataDir, name)
	if errors.Is(err, autocheck.ErrDamaged) {
		return h.setAside(e, cfg, name, event, err)
	}
	if err != nil || !setting.Due(now) {
		return err // off or not due: the usual case, and a silent one
	}

	ctx, cancel := context.WithTimeout(ctx, hookCheckTimeout)
	defer cancel()
	p, err := election.Join(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	if _, err := p.Resume(ctx, name); err != nil {
		return err
	}
	r, err := p.Check(ctx, hookShown, 0)
	if err != nil || len(r.Messages) == 0 {
		return err
	}
	if err := h.tell(e, event, mailNotice(name, r.Messages, len(r.Messages)+r.Remaining, now)); err != nil {
		return err
	}
	setting.LastShown = now
	return autocheck.Save(cfg.DataDir, name, setting)
}

// tell gives text to the assistant as context for event.
func (h *hookFlags) tell(e Env, event, text string) error {
	var out any = text
	if h.format != "text" {
		out = hookContext{Specific: hookSpecific{Event: event, Context: text}}
	}
	return writeHookOutput(e.Stdout, out)
}

// setAside moves a damaged auto-check setting out of the way and tells the
// assistant, once, that auto checking is off and how to turn it on again.
// Said on stderr only, as a hook's other failures are, it went unseen
// (clients do not show the stderr of a hook that exits 0) while the
// damaged file silently turned auto checking off at every run.
func (h *hookFlags) setAside(e Env, cfg election.Config, name, event string, damaged error) error {
	aside, err := autocheck.SetAside(cfg.DataDir, name)
	if err != nil {
		return errors.Join(damaged, err)
	}
	return h.tell(e, event, fmt.Sprintf("ipcmesh: auto checking of messages for %s is off: its setting file was damaged, and is set aside as %s. "+
		"To turn auto checking on again, call the auto_check tool with interval_minutes.", name, aside))
}

// contextEvent is the event the output of hook check is for: the one on
// the hook's stdin, or the client's prompt event when stdin does not say.
func (h *hookFlags) contextEvent(event string) (string, error) {
	events := hookContextEvents[h.format]
	switch {
	case events == nil: // text
		return "", nil
	case event == "":
		return events[0], nil
	case slices.Contains(events, event):
		return event, nil
	}
	// The event is what the client wrote on stdin: quoted, it cannot
	// break the line the client shows the refusal on.
	return "", fmt.Errorf("%q hooks cannot add context for the assistant: run hook check on %s", event, strings.Join(events, ", "))
}

// hookContext is the output, in Claude Code's and Gemini CLI's shared
// format, that adds context for the assistant.
type hookContext struct {
	Specific hookSpecific `json:"hookSpecificOutput"`
}

type hookSpecific struct {
	Event   string `json:"hookEventName"`
	Context string `json:"additionalContext"`
}

// hookDecision is Gemini CLI's AfterAgent output that sends Reason to the
// assistant as its next prompt.
type hookDecision struct {
	Decision string `json:"decision"`
	Reason   string `json:"reason"`
}

// writeHookOutput writes a string as lines and anything else as one JSON
// object, the only thing a JSON hook may print on stdout.
func writeHookOutput(w io.Writer, v any) error {
	if s, ok := v.(string); ok {
		_, err := fmt.Fprintln(w, s)
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// readHookEvent returns hook_event_name from the JSON object a client
// writes on a hook's stdin, or "" when there is none. It does not wait for
// a terminal, nor long for a client that keeps stdin open and silent: it
// gives up once a read of the input has waited idle (hookInputIdle)
// without a byte. The bound is on silence, not on the whole read: an
// input of megabytes whose event comes last took more than a second to
// read on a busy machine, and lost its event. Nor is the hook's own work
// between reads silence: decoding megabytes took more than a second on a
// busy machine, during which no read was asked for, and the event was
// lost all the same.
func readHookEvent(r io.Reader, idle time.Duration) string {
	if r == nil {
		return ""
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return ""
		}
	}
	in := &waitingReader{r: r, base: time.Now()}
	got := make(chan string, 1)
	go func() {
		got <- hookEventName(in)
		// The rest is read too, and dropped, so that the client's write
		// of it does not fail on a pipe nobody reads.
		io.Copy(io.Discard, in)
	}()
	timer := time.NewTimer(idle)
	defer timer.Stop()
	for {
		select {
		case event := <-got:
			return event
		case <-timer.C:
			waited := in.waited()
			if waited >= idle {
				return ""
			}
			timer.Reset(idle - waited)
		}
	}
}

// hookInputIdle is how long a hook waits for the next byte of its input.
const hookInputIdle = time.Second

// waitingReader notes when a read through it began and has not yet
// returned, for a goroutine that bounds the input's silence to tell the
// client's silence from the reader's own work between reads.
type waitingReader struct {
	r     io.Reader
	base  time.Time    // the origin of the monotonic times in since
	since atomic.Int64 // when the pending read began, as nanoseconds after base plus one; 0 when none is pending
}

func (w *waitingReader) Read(p []byte) (int, error) {
	w.since.Store(int64(time.Since(w.base)) + 1)
	n, err := w.r.Read(p)
	w.since.Store(0)
	return n, err
}

// waited is how long the pending read has waited so far, 0 when no read
// is pending.
func (w *waitingReader) waited() time.Duration {
	s := w.since.Load()
	if s == 0 {
		return 0
	}
	return time.Since(w.base) - time.Duration(s-1)
}

// hookEventName decodes the object r holds only as far as its member
// hook_event_name. The input also carries the tool call's input and
// output, which can be megabytes: reading the whole of it first, and
// giving up past a size, lost the event of a large tool call, and the
// context then given for the prompt event was refused by Claude Code as
// output for the wrong event.
func hookEventName(r io.Reader) string {
	dec := json.NewDecoder(r)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return ""
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		if tok == "hook_event_name" {
			var event string
			if err := dec.Decode(&event); err != nil {
				return ""
			}
			return event
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return ""
		}
	}
	return ""
}

// mailNotice tells an assistant what is waiting, without marking it read.
func mailNotice(name string, msgs []ipcmesh.Message, total int, now time.Time) string {
	var b strings.Builder
	noun, them, stay := "messages", "them", "they stay"
	if total == 1 {
		noun, them, stay = "message", "it", "it stays"
	}
	fmt.Fprintf(&b, "ipcmesh: %d unread %s for %s:\n", total, noun, name)
	shown := min(len(msgs), hookShown)
	for _, m := range msgs[:shown] {
		from := m.From
		if m.Broadcast {
			from += ", broadcast"
		}
		fmt.Fprintf(&b, "- from %s (%s): %s\n", from, clock(m.Time, now), preview(m))
	}
	if more := total - shown; more > 0 {
		fmt.Fprintf(&b, "- and %d more\n", more)
	}
	fmt.Fprintf(&b, "Call the ipcmesh check tool to read and acknowledge %s; until then %s unread.", them, stay)
	return b.String()
}

// preview is a message body on one line, cut short, with what could act
// on a terminal shown instead: it is another user's text, and the notice
// is read by a model and may be printed on a terminal.
func preview(m ipcmesh.Message) string {
	const max = 200
	s := strings.Join(strings.Fields(untrusted.Line(m.Content)), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "…"
	}
	if m.Large {
		s += fmt.Sprintf(" [large message, %s]", human.Size(m.Size))
	}
	return s
}

// clock is the time of day, with the date when it is not today.
func clock(t, now time.Time) string {
	t, now = t.Local(), now.Local()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	return t.Format("Jan 2 15:04")
}
