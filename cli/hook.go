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
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/untrusted"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/auth"
	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
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
		return flag.ErrHelp
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

// target finds the mesh configuration and the name a hook acts as: --as,
// IPC_NAME, or the name registered last from the data folder. A hook only
// resumes names: it never registers one.
func (h *hookFlags) target(e Env) (election.Config, string, error) {
	cfg, err := meshConfig(e)
	if err != nil {
		return cfg, "", err
	}
	name := h.id.name(e)
	if name == "" {
		if name, err = (auth.Keyring{Dir: cfg.DataDir}).Current(); err != nil {
			return cfg, "", fmt.Errorf("no name to act as: pass --as NAME, set IPC_NAME, or register one (ipcmesh register NAME)")
		}
	}
	return cfg, name, ipcmesh.ValidateName(name)
}

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
	event, err := h.contextEvent(readHookEvent(e.Stdin))
	if err != nil {
		return err
	}
	cfg, name, err := h.target(e)
	if err != nil {
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
	return "", fmt.Errorf("%s hooks cannot add context for the assistant: run hook check on %s", event, strings.Join(events, ", "))
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
// a terminal, nor long for a client that keeps stdin open.
func readHookEvent(r io.Reader) string {
	if r == nil {
		return ""
	}
	if f, ok := r.(*os.File); ok {
		if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice != 0 {
			return ""
		}
	}
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 1<<20))
		got <- b
	}()
	var in struct {
		Event string `json:"hook_event_name"`
	}
	select {
	case b := <-got:
		json.Unmarshal(b, &in)
	case <-time.After(time.Second):
	}
	return in.Event
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

// hookWait waits until mail the assistant has not been woken for arrives,
// then wakes it. It is meant to start at every stop of the assistant, so a
// new waiter for a name supersedes the one before it, and mail the
// assistant leaves unread wakes it once, not at every stop.
func hookWait(ctx context.Context, e Env, args []string) (err error) {
	var h hookFlags
	timeout, err := h.parseWait(args)
	if err != nil {
		return err
	}
	if h.format == "claude" && strings.HasPrefix(e.Getenv("CLAUDE_CODE_ENTRYPOINT"), "sdk") {
		// Headless Claude (claude -p, the Agent SDK) has no idle session to
		// wake, and waits for background hooks before it exits: waiting
		// here would only hold it up.
		return nil
	}
	cfg, name, err := h.target(e)
	if err != nil {
		return err
	}
	markHook(cfg, name)
	if setting, err := autocheck.Load(cfg.DataDir, name); err != nil || setting.IntervalMinutes <= 0 {
		return err // auto-check is off: nobody wants to be woken
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	release := claimWait(ctx, cancel, cfg, name)
	defer release()
	p, pushed, err := joinPushed(ctx, cfg)
	if err != nil {
		return quietIfDone(ctx, err)
	}
	defer closeAll(p, &err)
	if _, err := p.Resume(ctx, name); err != nil {
		return quietIfDone(ctx, err)
	}
	return h.waitForMail(ctx, e, p, cfg, name, pushed)
}

// parseWait parses the flags of hook wait and returns its --timeout.
func (h *hookFlags) parseWait(args []string) (time.Duration, error) {
	var timeout time.Duration
	err := h.parse("hook wait", args, func(fs *flag.FlagSet) {
		fs.DurationVar(&timeout, "timeout", 10*time.Minute, "give up quietly after `DURATION`")
	})
	if err != nil {
		return 0, err
	}
	if timeout <= 0 {
		return 0, usagef("--timeout must be above 0")
	}
	return timeout, nil
}

// claimWait makes this the waiter for name, so that the next waiter for
// it ends this one (cancel), and returns what releases the claim. Without
// a claim the hook still waits, only nobody can supersede it.
func claimWait(ctx context.Context, cancel context.CancelFunc, cfg election.Config, name string) (release func()) {
	superseded, release, err := autocheck.Claim(cfg.DataDir, name)
	if err != nil {
		cfg.Logger.Debug("waiting without a claim", "err", err)
		return func() {}
	}
	go func() {
		select {
		case <-superseded:
			cancel()
		case <-ctx.Done():
		}
	}()
	return release
}

// joinPushed joins the mesh subscribed to pushes, and returns a channel
// that holds a signal once mail has been pushed since it was last read.
func joinPushed(ctx context.Context, cfg election.Config) (*election.Peer, <-chan struct{}, error) {
	pushed := make(chan struct{}, 1)
	cfg.Subscribe = true
	cfg.OnEvent = func(ev ipc.Event) {
		if ev.Name == ipc.EventMessage {
			select {
			case pushed <- struct{}{}:
			default:
			}
		}
	}
	p, err := election.Join(ctx, cfg)
	return p, pushed, err
}

// waitForMail waits, as long as ctx lets it, for mail in the inbox of name
// newer than the mail the assistant was last woken for, and wakes it.
func (h *hookFlags) waitForMail(ctx context.Context, e Env, p *election.Peer, cfg election.Config, name string, pushed <-chan struct{}) error {
	for {
		woke, err := autocheck.LoadWake(cfg.DataDir, name)
		if err != nil {
			return err
		}
		r, err := p.Check(ctx, 1000, 0)
		if err != nil {
			return quietIfDone(ctx, err)
		}
		newest := woke.Seq
		for _, m := range r.Messages {
			newest = max(newest, m.Seq)
		}
		if newest > woke.Seq {
			return h.wakeFor(e, cfg, name, r, newest)
		}
		if len(r.Messages) == 0 {
			// An empty inbox: the broker holds the check until mail comes
			// (or ctx ends; without a deadline, a long piece at a time
			// rather than none, which would ask again at once).
			wait := ipc.MaxWait
			if deadline, ok := ctx.Deadline(); ok {
				wait = time.Until(deadline)
			}
			if _, err := p.Check(ctx, 1, wait); err != nil {
				return quietIfDone(ctx, err)
			}
			continue
		}
		// Only mail the assistant was woken for already: wait for a push.
		select {
		case <-pushed:
		case <-ctx.Done():
			return nil
		}
	}
}

// wakeFor wakes the assistant for the unread mail r holds, remembers
// newest as the mail it was woken for, and ends the hook as the client's
// protocol wants.
func (h *hookFlags) wakeFor(e Env, cfg election.Config, name string, r ipc.CheckResult, newest uint64) error {
	if err := h.wake(e, mailNotice(name, r.Messages, len(r.Messages)+r.Remaining, time.Now())); err != nil {
		return err
	}
	if err := autocheck.SaveWake(cfg.DataDir, name, autocheck.Wake{Seq: newest}); err != nil {
		cfg.Logger.Warn("could not remember the mail the assistant was woken for", "err", err)
	}
	if h.format == "claude" {
		return &exitStatus{code: 2}
	}
	return nil
}

// wake says text in the way that wakes the client's assistant.
func (h *hookFlags) wake(e Env, text string) error {
	switch h.format {
	case "claude":
		_, err := fmt.Fprintln(e.Stderr, text)
		return err
	case "gemini":
		return writeHookOutput(e.Stdout, hookDecision{Decision: "deny", Reason: text})
	}
	return writeHookOutput(e.Stdout, text)
}

// quietIfDone turns the error of a wait that timed out or was superseded
// into a quiet end.
func quietIfDone(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	// The deadline may have ended the call before ctx's timer fired.
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		return nil
	}
	return err
}
