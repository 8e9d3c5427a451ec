package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

const (
	// checkLimit bounds the messages one check returns: each costs the
	// model context, and the rest wait for the next call.
	checkLimit = 20
	// maxWaitSeconds caps wait_seconds at the broker's longest wait:
	// longer absences are served better by push and auto_check than by
	// one call held open.
	maxWaitSeconds = int(ipc.MaxWait / time.Second)
	// progressEvery is how often a waiting check reports progress, well
	// under the common 60 s request timeout.
	progressEvery = 10 * time.Second
)

type checkArgs struct {
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema:"if nothing is unread, wait up to this many seconds (max 600) for a message; default 0: return at once"`
	From        string `json:"from,omitempty" jsonschema:"only direct mail from this instance; the rest stays unread"`
}

// addCheck adds check, which reads the inbox. Messages are marked read only
// once the result holding them is built: a check that fails half way loses
// nothing, and every error is an error result, never "no new messages".
//
// With wait_seconds it is also how an assistant waits for a reply without
// polling: one call that the broker holds until mail arrives. A client that
// gave a progress token gets progress notifications while it waits, so it
// does not time the call out.
func (c *core) addCheck() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "check",
		Description: `Read the unread messages sent to this instance and posted to its channels, and mark them read. ` +
			`Use for "check messages", "msgs?", "any messages?", "check my inbox". ` +
			`Shows sender, #channel, time, type, id (for reply_to) and text (a large message: its summary, and where to read it whole). ` +
			`To wait for mail, set wait_seconds instead of calling check repeatedly; with from, for that instance's next message.`,
	}, c.check)
}

func (c *core) check(ctx context.Context, req *mcp.CallToolRequest, in checkArgs) (*mcp.CallToolResult, any, error) {
	// A check marks what it returns read, so a retry whose first try was
	// answered (the answer lost on its way) gets that answer again.
	key, err := messageID(req)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot check messages: %w", err)
	}
	if key != "" {
		key += " " + string(req.Params.Arguments) // one key, one question
	}
	res, err := c.checks.do(ctx, key, func() (*mcp.CallToolResult, error) {
		res, _, err := c.checkOnce(ctx, req, in)
		return res, err
	})
	return res, nil, err
}

func (c *core) checkOnce(ctx context.Context, req *mcp.CallToolRequest, in checkArgs) (*mcp.CallToolResult, any, error) {
	const action = "check messages"
	if in.WaitSeconds < 0 {
		return nil, nil, fmt.Errorf("cannot %s: wait_seconds must be 0 or more, got %d", action, in.WaitSeconds)
	}
	if err := channelAsInstance(action, "from", in.From, checkReadsChannel); err != nil {
		return nil, nil, err
	}
	p, name, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	wait, note := waitOf(in.WaitSeconds)
	check := ipc.CheckRequest{Limit: checkLimit, From: in.From}
	var r ipc.CheckResult
	if wait > 0 {
		r, err = c.waitForMail(ctx, req, p, check, wait)
	} else {
		r, err = p.CheckMail(ctx, check)
	}
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	if now := p.Name(); now != "" {
		// The call may have resumed the session on a new broker as the
		// name of a rename that had got no answer: the mail is that
		// name's, and so is the heading.
		name = now
	}
	what := "new messages"
	if in.From != "" {
		what = "new messages from " + in.From
	}
	if len(r.Messages) == 0 {
		msg := fmt.Sprintf("No %s for %s.", what, name)
		if wait > 0 {
			msg = fmt.Sprintf("No %s for %s (waited %s).", what, name, wait)
		}
		if in.From != "" {
			if hint := noSuchInstance(ctx, p, in.From, checkReadsChannel); hint != "" {
				msg += hint
			} else {
				msg += unreadBesides(ctx, p, name)
			}
		}
		return noted(text(msg), note), nil, nil
	}

	// The messages shown, oldest first, up to maxText of text: those past
	// it stay unread for the next check, as do those past the limit.
	body, n := c.fitting(r.Messages, false)
	ids := make([]string, n)
	for i, m := range r.Messages[:n] {
		ids[i] = m.ID
	}
	remaining := r.Remaining + len(r.Messages) - n
	var b strings.Builder
	fmt.Fprintf(&b, "%s for %s:\n", human.Count(n, "new message"), name)
	b.WriteString(body)
	if remaining > 0 {
		fmt.Fprintf(&b, "\n(%s: call check again.)\n", human.MoreUnread(remaining, in.From != ""))
	}
	// The result is built: only now may the messages leave the inbox.
	if _, err := p.Ack(ctx, ids); err != nil {
		c.log.Warn("ack checked messages", "err", err)
		fmt.Fprintf(&b, "\n(These could not be marked read (%v): check may show them again.)\n", err)
	}
	return noted(text(b.String()), note), nil, nil
}

// unreadBesides is what a check from one instance that found nothing
// adds when mail from others waits for name: from leaves it unread, and a
// model waiting for one sender would not learn of it. It is "" when none
// waits, and when the count cannot be had: the hint is a courtesy.
func unreadBesides(ctx context.Context, p *election.Peer, name string) string {
	if n := unread(ctx, p, name); n > 0 {
		return fmt.Sprintf(" %s from others: check without from reads them.", human.Count(n, "unread message"))
	}
	return ""
}

// unread counts the messages waiting in name's inbox, 0 when the count
// cannot be had: the hints built on it are a courtesy.
func unread(ctx context.Context, p *election.Peer, name string) int {
	all, err := p.List(ctx)
	if err != nil {
		return 0
	}
	for _, in := range all {
		if in.Name == name {
			return in.Unread
		}
	}
	return 0
}

// checkReadsChannel says how check reads a channel's posts, for a model
// that gave the channel as from: from filters direct mail only.
func checkReadsChannel(string) string { return "check without from shows its new posts" }

// waitOf is the wait that wait_seconds asks for, at most maxWaitSeconds,
// and the note an answer ends with when it asked for more. A longer wait
// is cut, not refused, as the HTTP face cuts its waits: the call does
// what it can. The note says so, so that a model neither takes an empty
// answer for the whole wait it asked for nor asks for it again.
func waitOf(seconds int) (time.Duration, string) {
	if seconds <= maxWaitSeconds {
		return time.Duration(seconds) * time.Second, ""
	}
	return ipc.MaxWait, fmt.Sprintf(
		"(wait_seconds is at most %d, %s: %d was cut to %d; to wait longer, call again once this answer is in.)", maxWaitSeconds, human.Period(ipc.MaxWait), seconds, maxWaitSeconds)
}

// noted ends the text of res, an answer of text, with note (if any) on a
// line of its own.
func noted(res *mcp.CallToolResult, note string) *mcp.CallToolResult {
	if note == "" || len(res.Content) == 0 {
		return res
	}
	if t, ok := res.Content[0].(*mcp.TextContent); ok {
		t.Text = strings.TrimRight(t.Text, "\n") + "\n" + note
	}
	return res
}

// waitForMail checks for mail as check asks, waiting up to wait for some to
// arrive, and reports progress meanwhile if the client asked for it.
func (c *core) waitForMail(ctx context.Context, req *mcp.CallToolRequest, p *election.Peer, check ipc.CheckRequest, wait time.Duration) (ipc.CheckResult, error) {
	if token := req.Params.GetProgressToken(); token != nil {
		what := "a message"
		if check.From != "" {
			what = "a message from " + check.From
		}
		stop := reportProgress(ctx, req.Session, token, wait, what)
		defer stop()
	}
	// Either way of waiting lasts the whole wait, and a client that gives
	// up leaves nothing waiting long: the face's ends with ctx, and the
	// peer asks the broker in short pieces (election.Peer.CheckMail).
	if c.waitMail != nil {
		return c.waitMail(ctx, check, wait)
	}
	check.WaitMS = wait.Milliseconds()
	return p.CheckMail(ctx, check)
}

// reportProgress sends a progress notification at once and then every
// progressEvery until stop is called; what says what is awaited.
func reportProgress(ctx context.Context, ss *mcp.ServerSession, token any, wait time.Duration, what string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		start := time.Now()
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			waited := time.Since(start).Round(time.Second)
			ss.NotifyProgress(ctx, &mcp.ProgressNotificationParams{
				ProgressToken: token,
				Progress:      waited.Seconds(),
				Total:         wait.Seconds(),
				Message:       fmt.Sprintf("waiting for %s (%s of %s)", what, waited, wait),
			})
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
