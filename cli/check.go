package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func runCheck(ctx context.Context, e Env, args []string) (err error) {
	c := asName("check")
	wait := c.Duration("wait", 0, "wait up to `DURATION` (e.g. 30s) for a message if there is none")
	limit := c.Int("limit", ipc.DefaultCheckLimit, fmt.Sprintf("print at most `N` messages, up to %d", ipc.MaxCheckLimit))
	peek := c.Bool("peek", false, "print without marking the messages read")
	asJSON := c.Bool("json", false, "print the messages as JSON")
	from := c.String("from", "", "only direct messages from `NAME` (under any of its names); with --wait, wait for its next one")
	p, _, err := c.open(ctx, e, args, func(pos []string) error {
		if err := noName("check", "read the mail of")(pos); err != nil {
			if len(pos) == 1 && ipcmesh.ValidateName(pos[0]) == nil {
				return usagef("%v; to read only the mail from %s: ipcmesh check --from %s", err, pos[0], pos[0])
			}
			return err
		}
		if err := checkWait(*wait); err != nil {
			return err
		}
		if *limit <= 0 || *limit > ipc.MaxCheckLimit {
			return usagef("--limit %d: want 1 to %d, or leave it out for %d", *limit, ipc.MaxCheckLimit, ipc.DefaultCheckLimit)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	r, err := p.CheckMail(ctx, ipc.CheckRequest{Limit: *limit, From: *from, WaitMS: wait.Milliseconds()})
	if errors.Is(err, context.Canceled) {
		return nil // interrupted while waiting: nothing was read
	}
	if err != nil {
		return err
	}
	if *asJSON {
		err = printJSON(e.Stdout, r)
	} else {
		var unknown string
		if len(r.Messages) == 0 && *from != "" {
			unknown = noSuchInstance(ctx, p, *from)
		}
		err = printMessages(e, p.Name(), r.Messages, r.Remaining, *from, unknown, *peek, *wait)
	}
	if err != nil || *peek {
		// Unread stays unread when the messages could not be shown.
		return err
	}
	return ackAll(ctx, p, r.Messages)
}

// printMessages prints the mail of check, headed by the name it is for:
// with several names in one data folder, which one a command acts as is
// never left to guess. from is the sender the check was narrowed to, if
// any, and unknown what noSuchInstance says of it; peek says the check
// marks nothing read, and waited how long it waited for mail (0: not).
func printMessages(e Env, name string, msgs []ipcmesh.Message, remaining int, from, unknown string, peek bool, waited time.Duration) error {
	w := &errWriter{w: e.Stdout}
	if len(msgs) == 0 {
		// A wait that ended without mail says so: "No new messages" alone
		// reads as a check that did not wait, a --wait left out.
		var after string
		if waited > 0 {
			after = fmt.Sprintf(" (waited %s)", human.Period(waited))
		}
		if from != "" {
			fmt.Fprintf(w, "No new messages from %s for %s%s.%s\n", from, name, after, unknown)
		} else {
			fmt.Fprintf(w, "No new messages for %s%s.\n", name, after)
		}
		return w.err
	}
	fmt.Fprintf(w, "%s for %s:\n", human.Count(len(msgs)+remaining, "unread message"), name)
	for _, m := range msgs {
		printMessage(w, m, false)
	}
	switch {
	case remaining > 0 && peek:
		// A check that marked none read shows these again first: "run
		// check again" would show the same page for ever.
		fmt.Fprintf(w, "(%s: --peek left these unread, so the next check shows them first; --limit %d shows the rest too)\n",
			human.MoreUnread(remaining, from != ""), min(len(msgs)+remaining, ipc.MaxCheckLimit))
	case remaining > 0:
		fmt.Fprintf(w, "(%s: run check again)\n", human.MoreUnread(remaining, from != ""))
	}
	return w.err
}

func ackAll(ctx context.Context, p *election.Peer, msgs []ipcmesh.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids := make([]string, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	// The messages are printed: a Ctrl-C that comes while their ack is
	// on its way must not stop it, or the next check shows them again
	// (and a watch stopped so exited 1, saying "context canceled").
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ackTimeout)
	defer cancel()
	if _, err := p.Ack(actx, ids); err != nil {
		return fmt.Errorf("%s printed may not be marked read, and may be shown again by the next check: %w", human.Count(len(msgs), "message"), err)
	}
	return nil
}

// ackTimeout bounds the ack of messages printed, which an interrupt does
// not cut short. It outlasts the peer's own bound on an answer, so that a
// broker that does not answer the ack is named, with what to do about it,
// rather than the ack ending as "context deadline exceeded".
const ackTimeout = election.DefaultAnswerTimeout + 5*time.Second

// runWatch prints messages as they arrive, each marked read once printed,
// until interrupted. It waits with long checks rather than pushes: a check
// survives failover by itself and can never miss a message.
func runWatch(ctx context.Context, e Env, args []string) (err error) {
	c := asName("watch")
	asJSON := c.Bool("json", false, "print one JSON object per message per line")
	p, _, err := c.open(ctx, e, args, noName("watch", "watch the mail of"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	if !*asJSON {
		fmt.Fprintf(e.Stderr, "watching mail for %s (Ctrl-C to stop)\n", p.Name())
	}
	// A watch whose reader went away (`ipcmesh watch | grep -m1 deploy`,
	// once grep has its line) would find out only at its next message's
	// write, and meanwhile hold its name online: it ends as soon as the
	// reader goes, as the write would have ended it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	gone, stopWatch := readersGone(e.Stdout)
	defer stopWatch()
	var readerLeft atomic.Bool
	go func() {
		select {
		case <-gone:
			readerLeft.Store(true)
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		r, err := p.Check(ctx, 100, time.Minute)
		if readerLeft.Load() {
			return &exitStatus{code: readerGoneStatus}
		}
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		// Each message is marked read as soon as it is written out, not
		// the batch after the last: on unix a write that finds the
		// reader gone (`watch | head -1`, once head has its line) ends
		// the process there, and the messages written before it would
		// be shown again by the next watch.
		for _, m := range r.Messages {
			w := &errWriter{w: e.Stdout}
			if *asJSON {
				b, _ := json.Marshal(m)
				fmt.Fprintf(w, "%s\n", jsonEscapeHidden(b))
			} else {
				printMessage(w, m, false)
			}
			if w.err != nil {
				return w.err
			}
			if err := ackAll(ctx, p, []ipcmesh.Message{m}); err != nil {
				return err
			}
		}
	}
}

func runFetch(ctx context.Context, e Env, args []string) (err error) {
	c := asName("fetch")
	asJSON := c.Bool("json", false, "print the message as JSON")
	p, pos, err := c.open(ctx, e, args, argCount(1, 1, "fetch needs one message id (shown by check)"))
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	r, err := p.Fetch(ctx, pos[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	// The body as it was sent, so that `fetch ID > file` gives back the
	// file sent with `send TO - < file`; a body that does not end its
	// last line gets a newline, as a line printed does.
	body := forTerminal(e.Stdout, r.Content)
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	_, err = io.WriteString(e.Stdout, body)
	return err
}

// errWriter remembers the first write error, so that a run of prints can
// be checked once.
type errWriter struct {
	w   interface{ Write([]byte) (int, error) }
	err error
}

func (w *errWriter) Write(b []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.w.Write(b)
	w.err = err
	return n, err
}
