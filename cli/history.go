package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
	"github.com/ipcmesh/ipcmesh/store"
)

// runHistory prints a conversation with an instance or a channel's posts,
// newest first and a page at a time, or a thread oldest first, a page at a
// time too. With
// --thread and --wait it waits for the next message in the thread instead.
// It marks nothing read, except the direct messages to this instance that
// a wait returns.
func runHistory(ctx context.Context, e Env, args []string) (err error) {
	c := asName("history")
	with := c.String("with", "", "the conversation with the instance `NAME`")
	channel := c.String("channel", "", "the posts of the channel `C`")
	thread := c.String("thread", "", "the thread of the message `ID`, oldest first")
	before := c.Uint64("before", 0, "page back: only messages before `SEQ` (the previous page says it)")
	after := c.Uint64("after", 0, "with --thread, read on: only messages after `SEQ` (the previous page says it)")
	// Left out (0), the store makes a thread's page as long as a page may
	// be, and a conversation's or a channel's DefaultHistoryLimit.
	limit := c.Int("limit", 0, fmt.Sprintf("at most `N` messages (default %d, %d of a thread; max %d)", store.DefaultHistoryLimit, store.MaxHistoryLimit, store.MaxHistoryLimit))
	wait := c.Duration("wait", 0, "with --thread: wait up to `DURATION` for the next message after ID")
	since := c.String("since", "", "only messages since `WHEN`: a duration back (24h, 7d) or a date (2026-01-02 is its midnight, local time; or RFC 3339)")
	until := c.String("until", "", "only messages until `WHEN` (as --since)")
	asJSON := c.Bool("json", false, "print the result as JSON")
	var from, to time.Time
	p, _, err := c.open(ctx, e, args, func(pos []string) (err error) {
		set := 0
		for _, v := range []string{*with, *channel, *thread} {
			if v != "" {
				set++
			}
		}
		switch {
		case len(pos) > 0:
			return usagef("history takes no arguments: use --with NAME, --channel C or --thread ID")
		case set == 0:
			return usagef("history needs one of --with NAME, --channel C or --thread ID")
		case set > 1:
			return usagef("history shows one conversation, channel or thread at a time: give only one of --with, --channel and --thread")
		case *wait < 0:
			return checkWait(*wait)
		case *limit < 0 || *limit > store.MaxHistoryLimit || *limit == 0 && isSet(c.FlagSet, "limit"):
			// 0 is the flag left out; typed, it would print the
			// default number of messages after all.
			def := store.DefaultHistoryLimit
			if *thread != "" {
				def = store.MaxHistoryLimit
			}
			return usagef("--limit %d: want 1 to %d, or leave it out for %d", *limit, store.MaxHistoryLimit, def)
		case *wait > 0 && *thread == "":
			return usagef("--wait waits for the next message in a thread: give --thread ID")
		case *after > 0 && *thread == "":
			return usagef("--after reads on in a thread: give --thread ID (a conversation or a channel pages back with --before)")
		case *after > 0 && *wait > 0:
			return usagef("--wait waits for the messages after ID itself: leave out --after")
		case *wait > 0 && (*since != "" || *until != ""):
			return usagef("--wait waits for the next message, so --since and --until do not apply: leave them out")
		}
		if from, to, err = human.ParseWindow(*since, *until, "--", time.Now()); err != nil {
			return usagef("%v", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	if *wait > 0 {
		return waitThread(ctx, e, p, *thread, *wait, *asJSON)
	}
	r, err := p.History(ctx, ipc.HistoryRequest{With: *with, Channel: *channel, Thread: *thread, Before: *before, After: *after, Limit: *limit, Since: from, Until: to})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	w := &errWriter{w: e.Stdout}
	if r.With != "" {
		fmt.Fprintf(w, "%s is now %s: the conversation with %s.\n", *with, r.With, r.With)
		*with = r.With // and the next page's hint asks for it by that name
	}
	if len(r.Messages) == 0 {
		var unknown string
		if *with != "" {
			unknown = noSuchInstance(ctx, p, *with)
		}
		fmt.Fprintf(w, "No messages.%s\n", unknown)
		return w.err
	}
	for _, m := range r.Messages {
		printMessage(w, m, *channel == "")
	}
	if r.More {
		// The next page is the same command a page further on: as the
		// same name, and as many at a time.
		last := r.Messages[len(r.Messages)-1]
		var what string
		if name, how := c.id.chosen(e); how == "--as" {
			what = "--as " + name + " "
		}
		switch {
		case *channel != "":
			what += "--channel " + *channel
		case *with != "":
			what += "--with " + *with
		default:
			what += "--thread " + *thread
		}
		for _, f := range []struct{ name, v string }{{"since", *since}, {"until", *until}} {
			if f.v != "" {
				what += fmt.Sprintf(" --%s %s", f.name, f.v)
			}
		}
		if *limit > 0 {
			what += fmt.Sprintf(" --limit %d", *limit)
		}
		if *thread != "" {
			fmt.Fprintf(w, "(later messages: ipcmesh history %s --after %d)\n", what, last.Seq)
		} else {
			fmt.Fprintf(w, "(older messages: ipcmesh history %s --before %d)\n", what, last.Seq)
		}
	}
	if last := r.Messages[len(r.Messages)-1]; *thread != "" && last.Type == ipcmesh.TypeDone {
		fmt.Fprintf(w, "(the thread is done: %s sent done)\n", last.From)
	}
	return w.err
}

// waitThread waits for the next message in the thread of id after id and
// prints what came. Exit status 0 either way: "no reply yet" is an answer.
func waitThread(ctx context.Context, e Env, p *election.Peer, id string, wait time.Duration, asJSON bool) error {
	if !asJSON {
		fmt.Fprintf(e.Stderr, "waiting up to %s for the next message after %s (Ctrl-C to stop)\n", wait, id)
	}
	r, err := p.WaitReply(ctx, id, wait)
	if errors.Is(err, context.Canceled) {
		return nil // interrupted while waiting
	}
	if err != nil {
		return err
	}
	if asJSON {
		err = printJSON(e.Stdout, r)
	} else {
		w := &errWriter{w: e.Stdout}
		for _, m := range r.Messages {
			printMessage(w, m, true)
		}
		switch {
		case r.Done:
			fmt.Fprintln(w, "(the thread is done)")
		case len(r.Messages) == 0:
			fmt.Fprintf(w, "No reply after %s within %s.\n", id, wait)
		}
		err = w.err
	}
	if err != nil {
		return err
	}
	// Shown: the replies to this instance need not show up in check again.
	me := p.Name()
	var ids []string
	for _, m := range r.Messages {
		if m.To == me && m.Channel == "" {
			ids = append(ids, m.ID)
		}
	}
	_, err = p.Ack(ctx, ids)
	return err
}
