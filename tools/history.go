package tools

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

type historyArgs struct {
	With        string `json:"with,omitempty" jsonschema:"an instance: your conversation with it"`
	Channel     string `json:"channel,omitempty" jsonschema:"a channel: its posts"`
	Thread      string `json:"thread,omitempty" jsonschema:"a message id: its whole thread"`
	ID          string `json:"id,omitempty" jsonschema:"a message id: that message alone, with the whole text of a large one"`
	Offset      int    `json:"offset,omitempty" jsonschema:"with id: read on from this byte of a long text (the previous page says it)"`
	Before      uint64 `json:"before,omitempty" jsonschema:"page back: only messages before this seq (the previous page says it)"`
	After       uint64 `json:"after,omitempty" jsonschema:"with thread: read on after this seq (the previous page says it)"`
	Limit       int    `json:"limit,omitempty" jsonschema:"messages per page (default 20, for a thread 200; max 200)"`
	WaitSeconds int    `json:"wait_seconds,omitempty" jsonschema:"with thread: wait up to this many seconds (max 600) for the next message after that id"`
	Since       string `json:"since,omitempty" jsonschema:"only since: 24h, 7d, 2026-01-02 or RFC 3339"`
	Until       string `json:"until,omitempty" jsonschema:"only until: as since"`
}

// addHistory adds history, which reads what was said, read or not: a
// conversation with one instance or a channel's posts (newest first, paged
// back with before), or a whole thread (oldest first). Reading marks
// nothing read: that is check's.
//
// With a thread and wait_seconds it is how an assistant waits for the answer
// to a request without polling: one call the broker holds until the next
// message in the thread arrives, or a done in it ends the wait. Like a
// waiting check it reports progress to a client that asked for it, and
// the direct replies it returns are marked read, as check's are, so that
// check does not show them again (see waitReply).
func (c *core) addHistory() {
	mcp.AddTool(c.mcp, &mcp.Tool{
		Name: "history",
		Description: `Read past messages, read or not: a conversation with an instance (with) or a channel's posts (channel), newest first; or a whole thread (thread), oldest first. ` +
			`Use for "show my conversation with X", "what was said in #auth-dev?", "show the thread of <id>", "what did X and I discuss yesterday?" (since 48h, until 24h). ` +
			`To wait for the reply to a message you sent, give its id as thread and set wait_seconds: it returns the messages after that id (at once if a reply already came, else when the next one arrives), or says when a done ended it. ` +
			`With id, one message with its whole text (a large message's, where check shows a summary).`,
	}, c.history)
}

func (c *core) history(ctx context.Context, req *mcp.CallToolRequest, in historyArgs) (*mcp.CallToolResult, any, error) {
	const action = "read history"
	set := 0
	for _, v := range []string{in.With, in.Channel, in.Thread, in.ID} {
		if v != "" {
			set++
		}
	}
	switch {
	case set != 1:
		return nil, nil, fmt.Errorf("cannot %s: give one of with (an instance), channel, thread (a message id) or id (one message)", action)
	case in.After > 0 && in.Thread == "":
		return nil, nil, fmt.Errorf("cannot %s: after reads on in a thread: give thread too (with or channel page back with before)", action)
	case in.Offset != 0 && in.ID == "":
		return nil, nil, fmt.Errorf("cannot %s: offset reads on in one message's text: give its id too", action)
	case in.ID != "" && (in.WaitSeconds > 0 || in.Before > 0 || in.Since != "" || in.Until != ""):
		return nil, nil, fmt.Errorf("cannot %s: id reads one message: leave out wait_seconds, before, since and until", action)
	case in.ID != "":
		res, err := c.wholeMessage(ctx, in.ID, in.Offset)
		return res, nil, err
	case in.WaitSeconds < 0:
		return nil, nil, fmt.Errorf("cannot %s: wait_seconds must be 0 or more, got %d", action, in.WaitSeconds)
	case in.Limit < 0:
		return nil, nil, fmt.Errorf("cannot %s: limit must be 0 or more, got %d", action, in.Limit)
	case in.WaitSeconds > 0 && in.Thread == "":
		return nil, nil, fmt.Errorf("cannot %s: wait_seconds waits for the next message in a thread: give thread (the id of the message you expect an answer to)", action)
	case in.Before > 0 && in.Thread != "":
		// A thread reads oldest first, so before would be dropped, and the
		// model would take the whole thread for the page it asked for.
		return nil, nil, fmt.Errorf("cannot %s: a thread reads oldest first, so before does not apply: leave it out, and read on with after (the previous page says it)", action)
	case in.WaitSeconds > 0 && in.After > 0:
		return nil, nil, fmt.Errorf("cannot %s: wait_seconds waits for the messages after the id given as thread, so after does not apply: to wait past a later message, give its id as thread", action)
	case in.WaitSeconds > 0 && (in.Since != "" || in.Until != ""):
		return nil, nil, fmt.Errorf("cannot %s: wait_seconds waits for the next message, so since and until do not apply: leave them out", action)
	}
	if err := channelAsInstance(action, "with", in.With, historyReadsChannel); err != nil {
		return nil, nil, err
	}
	since, until, err := human.ParseWindow(in.Since, in.Until, "", time.Now())
	if err != nil {
		return nil, nil, fmt.Errorf("cannot %s: %v", action, err)
	}
	p, name, err := c.id.registered(ctx, action)
	if err != nil {
		return nil, nil, err
	}
	if in.WaitSeconds > 0 {
		wait, note := waitOf(in.WaitSeconds)
		res, _, err := c.waitReply(ctx, req, p, name, in.Thread, wait)
		if err != nil {
			return nil, nil, err
		}
		return noted(res, note), nil, nil
	}
	r, err := p.History(ctx, ipc.HistoryRequest{With: in.With, Channel: in.Channel, Thread: in.Thread, Before: in.Before, After: in.After, Limit: in.Limit, Since: since, Until: until})
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	var what string
	switch {
	case r.With != "":
		what = fmt.Sprintf("the conversation of %s with %s (%s's new name)", name, r.With, in.With)
	case in.With != "":
		what = fmt.Sprintf("the conversation of %s with %s", name, in.With)
	case in.Channel != "":
		what = channelName(in.Channel)
	default:
		what = "the thread of " + in.Thread
	}
	if in.Since != "" || in.Until != "" {
		what += window(since, until)
	}
	if len(r.Messages) == 0 {
		var msg string
		switch {
		case in.Since != "" || in.Until != "":
			msg = fmt.Sprintf("No messages in %s.", what)
		case in.Before > 0:
			msg = fmt.Sprintf("No messages in %s before seq %d.", what, in.Before)
		case in.After > 0:
			msg = fmt.Sprintf("No messages in %s after seq %d.", what, in.After)
		default:
			msg = fmt.Sprintf("No messages in %s yet.", what)
		}
		if in.With != "" && r.With == "" {
			// A name renamed away leads to its new name (r.With), which
			// is registered.
			msg += noSuchInstance(ctx, p, in.With, historyReadsChannel)
		}
		return text(msg), nil, nil
	}
	var b strings.Builder
	order := "newest first"
	if in.Thread != "" {
		order = "oldest first"
	}
	// A page of up to 200 messages may be megabytes: it ends where
	// maxText does, and the next page starts after what it shows.
	body, n := c.fitting(r.Messages, in.Channel == "")
	fmt.Fprintf(&b, "%s in %s, %s:\n", human.Count(n, "message"), what, order)
	b.WriteString(body)
	last := r.Messages[n-1]
	if r.More || n < len(r.Messages) {
		if in.Thread != "" {
			fmt.Fprintf(&b, "\n(The thread goes on: call history again with thread %s and after %d.)\n", in.Thread, last.Seq)
		} else {
			fmt.Fprintf(&b, "\n(Older messages: call history again with before %d.)\n", last.Seq)
		}
	}
	if in.Thread != "" && last.Type == ipcmesh.TypeDone {
		fmt.Fprintf(&b, "\nThe thread is done: %s sent done.\n", last.From)
	}
	return text(b.String()), nil, nil
}

// historyReadsChannel says how history reads the posts of the channel ch,
// for a model that gave it as with.
func historyReadsChannel(ch string) string {
	return fmt.Sprintf("history with channel %q shows its posts", ch)
}

// window says which times a history or search covers: " since T", " until
// T" or both, in local time.
func window(since, until time.Time) string {
	const layout = "2006-01-02 15:04 MST"
	var s string
	if !since.IsZero() {
		s += " since " + since.Local().Format(layout)
	}
	if !until.IsZero() {
		s += " until " + until.Local().Format(layout)
	}
	return s
}

// waitReply waits up to wait for the next message in the thread of id and
// says what came: replies, a done, or nothing. The direct messages to this
// instance it returns are marked read, so check does not show them again;
// channel posts are left to check, which reads each channel in order.
func (c *core) waitReply(ctx context.Context, req *mcp.CallToolRequest, p *election.Peer, name, id string, wait time.Duration) (*mcp.CallToolResult, any, error) {
	const action = "wait for a reply"
	if token := req.Params.GetProgressToken(); token != nil {
		stop := reportProgress(ctx, req.Session, token, wait, "a reply to "+id)
		defer stop()
	}
	r, err := p.WaitReply(ctx, id, wait)
	if err != nil {
		return nil, nil, c.fail(action, err)
	}
	if len(r.Messages) == 0 {
		if r.Done {
			return text(fmt.Sprintf("The thread of %s is done (a done was sent): no reply to wait for.", id)), nil, nil
		}
		msg := fmt.Sprintf("No reply after %s yet (waited %s).", id, wait)
		if n := unread(ctx, p, name); n > 0 {
			// A reply sent without reply_to (by a script, or a model
			// that left it out) lands in the inbox, not in the thread:
			// told nothing, a model would wait again for what came. Not
			// "outside the thread": the one unread may be the message
			// waited after itself, when that was a reply not yet read.
			waits, it := "1 unread message waits", "it"
			if n > 1 {
				waits, it = fmt.Sprintf("%d unread messages wait", n), "them"
			}
			msg += fmt.Sprintf(" %s in your inbox: check reads %s (a reply sent without reply_to lands there, not in this thread).", waits, it)
		}
		return text(msg + " Wait again the same way, or go on with your work."), nil, nil
	}
	// Up to maxText of text, as check: the direct messages shown are
	// marked read, and those past it come at once on the next wait.
	body, n := c.fitting(r.Messages, true)
	shown := r.Messages[:n]
	var b strings.Builder
	fmt.Fprintf(&b, "%s after %s:\n", human.Count(n, "new message"), id)
	b.WriteString(body)
	last := shown[n-1]
	switch {
	case n < len(r.Messages):
		fmt.Fprintf(&b, "\n(%d more came after these: history with thread %q and wait_seconds shows them at once.)\n", len(r.Messages)-n, last.ID)
	case r.Done:
		done := last
		for _, m := range r.Messages {
			if m.Type == ipcmesh.TypeDone {
				done = m
			}
		}
		fmt.Fprintf(&b, "\nThe thread is done: %s sent done.\n", done.From)
	default:
		fmt.Fprintf(&b, "\n(To wait for more: history with thread %q and wait_seconds.)\n", last.ID)
	}
	var mine []string
	for _, m := range shown {
		if m.To == name && m.Channel == "" {
			mine = append(mine, m.ID)
		}
	}
	if _, err := p.Ack(ctx, mine); err != nil {
		c.log.Warn("ack replies", "err", err)
	}
	return text(b.String()), nil, nil
}
