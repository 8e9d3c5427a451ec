package cli

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/autocheck"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

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
	if err != nil || name == "" {
		return err
	}
	markHook(cfg, name)
	if setting, err := autocheck.Load(cfg.DataDir, name); err != nil || setting.IntervalMinutes <= 0 {
		return err // auto-check is off: nobody wants to be woken
	}

	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	gone, stopWatch := readersGone(e.Stdout, e.Stderr)
	defer stopWatch()
	go func() {
		select {
		case <-gone:
			cfg.Logger.Debug("the assistant that started the hook is gone")
			cancel()
		case <-ctx.Done():
		}
	}()
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
		fs.DurationVar(&timeout, "timeout", 10*time.Minute, "give up quietly after `DURATION` (hook wait only: hook check gives up after 5s)")
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
