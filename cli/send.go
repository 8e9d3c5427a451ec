package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"
	"github.com/ipcmesh/ipcmesh/internal/sent"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func runSend(ctx context.Context, e Env, args []string) (err error) {
	c := asName("send")
	var req ipc.SendRequest
	lines := c.Bool("lines", false, "with '-': send each line of stdin as its own message")
	asJSON := c.Bool("json", false, "print the result as JSON")
	c.StringVar(&req.Type, "type", "", "the message `TYPE`: message, request, response, status, handoff or done")
	c.StringVar(&req.ReplyTo, "reply-to", "", "the `ID` of the message this answers (makes a thread)")
	c.StringVar(&req.Shared, "shared", "", "a shared-data `KEY` the message points at (see ipcmesh share)")
	c.StringVar(&req.ID, "id", "", "the message's `ID` (8 to 64 letters, digits, '_' or '-'): run again with the same one, as a script that retries does, the command stores nothing new")
	p, _, err := c.open(ctx, e, args, func(pos []string) error {
		return completeSend(e, &req, pos, c.stdinDash(pos, 1), *lines, c.cfg.MessageLimit())
	})
	if err != nil {
		return joinInterrupted(ctx, err, "nothing was sent")
	}
	defer closeAll(p, &err)
	if err := c.id.refuseSelf(e, p.Name(), req.To); err != nil {
		return err
	}
	if *lines {
		if err := sendLines(ctx, e, p, req, c.cfg.MessageLimit(), *asJSON); err != nil {
			return err
		}
		warnSharedMissing(ctx, e, p, req.Shared)
		return nil
	}
	given := req.ID != ""
	if !given {
		req.ID = ipc.NewID()
	}
	r, err := p.SendMessage(ctx, req)
	if interrupted(ctx, err) {
		return interruptedOnItsWay(err, "the message", "to be sure it goes, "+sendAgain(req.ID, given), "nothing was sent")
	}
	if unsettled(err) {
		return unanswered(err, "the message", "to be sure it goes, "+sendAgain(req.ID, given))
	}
	if ipcmesh.CodeOf(err) == ipcmesh.CodeUnavailable && !given {
		// The store's advice is to send again with the same id (a
		// commit that failed may have stored it all the same), and
		// only the command knows the id it made.
		return fmt.Errorf("%w; to send it again, run the command with --id %s, which stores it once", err, req.ID)
	}
	if err != nil {
		return err
	}
	if !r.Duplicate {
		defer warnSharedMissing(ctx, e, p, req.Shared)
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	out := describeSend(r)
	if r.Fate() == ipc.Queued {
		out += channelMeant(ctx, p, r.Message.To)
	}
	fmt.Fprintf(e.Stdout, "as %s: %s\n", p.Name(), out)
	return nil
}

// channelMeant is what the answer to a send queued for name adds when a
// channel goes by that name (see Peer.ChannelNamed): the '#' was most
// likely left out, and the message now waits for an instance that may
// never come. It is "" otherwise.
func channelMeant(ctx context.Context, p *election.Peer, name string) string {
	if ch, ok := p.ChannelNamed(ctx, name); ok {
		return fmt.Sprintf("; #%s is a channel: to post there, send to '#%s', quoted (this message waits for an instance named %s)", ch, ch, name)
	}
	return ""
}

// warnSharedMissing warns on stderr when nothing is stored under key, the
// --shared of a message just sent (see Peer.MissingShared).
func warnSharedMissing(ctx context.Context, e Env, p *election.Peer, key string) {
	missing, near := p.MissingShared(ctx, key)
	if !missing {
		return
	}
	fmt.Fprintf(e.Stderr, "warning: nothing is shared under %q yet", key)
	if near != "" {
		fmt.Fprintf(e.Stderr, " (did you mean %s?)", near)
	}
	fmt.Fprintf(e.Stderr, ": the message points at it all the same; share it (ipcmesh share %s FILE), or its readers find nothing there\n", key)
}

// completeSend checks the positionals of send (TO MESSAGE... or TO -) and
// its type, and completes req with them: the recipient, the type as the
// mesh stores it, and the content, from the words or stdin (at most limit
// bytes of it), which it reads when fromStdin. With lines the content is
// left to sendLines, which reads stdin a line at a time.
func completeSend(e Env, req *ipc.SendRequest, pos []string, fromStdin, lines bool, limit int) error {
	switch len(pos) {
	case 0:
		// An unquoted '#channel' starts a comment in the shell, which
		// drops it and every word after it before the command runs.
		return usagef("send needs a recipient and a message (a '#channel' must be quoted: the shell drops an unquoted # and the rest of the line)")
	case 1:
		return usagef("send needs a recipient and a message")
	}
	if err := ipcmesh.ValidateType(req.Type); err != nil {
		return usagef("--type: %v", err)
	}
	if req.Type == ipcmesh.TypeMessage {
		req.Type = ""
	}
	if req.Shared != "" {
		if err := ipcmesh.ValidateSharedKey(req.Shared); err != nil {
			return usagef("--shared: %v", err)
		}
	}
	if req.ID != "" {
		if err := checkMessageID(req.ID); err != nil {
			return err
		}
		if lines {
			// Every line is a message of its own, and one id is one
			// message: the lines after the first would be dropped.
			return usagef("--id names one message and --lines sends one per line: leave --id out")
		}
	}
	req.To = pos[0]
	words := pos[1:]
	what := fmt.Sprintf("the message to %q", req.To)
	if strings.HasPrefix(strings.TrimSpace(req.To), "#") {
		what = "the post to " + strings.TrimSpace(req.To)
	}
	switch {
	case lines && !fromStdin:
		return usagef("--lines reads messages from stdin: use 'ipcmesh send --lines %s -'", req.To)
	case !fromStdin:
		req.Content = strings.Join(words, " ")
		// The mesh refuses it too; said here, it is a word missing
		// from the command line, before a broker is started for it.
		if err := ipcmesh.CheckContent(what, req.Content); err != nil {
			return usagef("%v; nothing was sent", err)
		}
	case !lines:
		tellTerminalInput(e, what)
		b, over, err := readAtMost(e.Stdin, limit)
		if err != nil {
			return fmt.Errorf("read the message from stdin: %w", err)
		}
		if over {
			return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the message on stdin is over the limit of %d bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it into several messages; nothing was sent", limit)
		}
		req.Content = string(b)
		if err := ipcmesh.CheckContent(what+" on stdin", req.Content); err != nil {
			return fmt.Errorf("%w; nothing was sent", err)
		}
	}
	return nil
}

// unsettled reports whether err leaves a send unsettled: its broker did
// not answer, or was lost before it answered and no other took its place.
func unsettled(err error) bool {
	return errors.Is(err, election.ErrNotAnswering) || errors.Is(err, election.ErrAnswerLost)
}

// mayStillGo says what may have become of a request whose send ended in
// the unsettled err.
func mayStillGo(err error) string {
	if errors.Is(err, election.ErrAnswerLost) {
		return "may have been stored"
	}
	return "may still go once the broker answers again"
}

// unanswered is the error of a send, broadcast or share (what) left
// unsettled: a broker that was stopped (Ctrl-Z) or stalled reads the
// request once it goes on, and carries it out; one that was lost may have
// carried it out first. The error says so, and again, how to make sure of
// it without storing it twice.
func unanswered(err error, what, again string) error {
	return fmt.Errorf("%w; %s %s: %s", err, what, mayStillGo(err), again)
}

// sendAgain says how to send again a message or broadcast whose fate is
// unknown, under id, so that it is stored once: the command as it was
// when its --id was given, else with the id the command made. Sent again
// under another id, a message the broker had stored would arrive twice:
// so the command makes the id itself when the user gave none (given),
// rather than leaving it to the peer, and the error names it.
func sendAgain(id string, given bool) string {
	if given {
		return "run the same command again: its --id stores it once"
	}
	return fmt.Sprintf("run the command again with --id %s, which stores it once", id)
}

// interrupted reports whether err ended a command because ctx did: an
// interrupt (Ctrl-C, SIGTERM) arrived.
func interrupted(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// joinInterrupted is the error of a command that sends something, for the
// error err of its joining the mesh: when an interrupt ended it, it says
// so, and nothing (as "nothing was sent"), for nothing is sent before the
// command has joined.
func joinInterrupted(ctx context.Context, err error, nothing string) error {
	if interrupted(ctx, err) {
		return fmt.Errorf("interrupted while joining the mesh: %s", nothing)
	}
	return err
}

// interruptedOnItsWay is the error of a send, broadcast, share or line of
// send --lines (what) that an interrupt ended in err. A request written
// before the interrupt came may have reached the broker, which carries it
// out whether or not anyone waits for its answer: the error says so, and
// again, how to make sure of it without storing it twice (or, for a line,
// where the lines not sent begin). Only a request that was never written
// (election.ErrNotSent) is surely not stored: then it says nothing (as
// "nothing was sent").
func interruptedOnItsWay(err error, what, again, nothing string) error {
	if errors.Is(err, election.ErrNotSent) {
		return fmt.Errorf("interrupted before %s went to the broker: %s", what, nothing)
	}
	return fmt.Errorf("interrupted while %s was on its way to the broker: it may have been stored; %s", what, again)
}

// checkMessageID checks the --id of send or broadcast: an id the command
// run again gives again, so that the broker stores the message once.
func checkMessageID(id string) error {
	if ipc.ValidateID("--id", id) != nil {
		return usagef("--id %q: use 8 to 64 letters, digits, '_' or '-', the same in every run of one message (for example the job's name and run number)", id)
	}
	return nil
}

// sendLines sends each line of stdin as one message like req, in order,
// each acked before the next is sent: a stream of numbered lines arrives
// numbered. Blank lines (empty, or only whitespace, which the mesh would
// refuse) are skipped. A line longer than limit stops it
// there, unread. Errors name a line by its number in the input, empty
// ones counted, as an editor shows it.
func sendLines(ctx context.Context, e Env, p *election.Peer, req ipc.SendRequest, limit int, asJSON bool) error {
	tellTerminalInput(e, "the messages to "+req.To+", one a line,")
	sc := bufio.NewScanner(e.Stdin)
	// A line and its newline fit in limit+1 bytes; a longer one is
	// ErrTooLong as soon as that much is buffered.
	sc.Buffer(make([]byte, min(64<<10, limit+1)), limit+1)
	read, n := 0, 0 // lines read, messages sent
	for sc.Scan() {
		read++
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		req.Content = line
		r, err := p.SendMessage(ctx, req)
		if unsettled(err) {
			// A broker that was stopped (Ctrl-Z) or stalled reads the
			// request once it goes on, and stores it, and one that was
			// lost may have stored it: whoever sends the rest again
			// must know to start after this line.
			return fmt.Errorf("line %d: %w; line %d %s, and the lines after it were not sent (%s sent before it)", read, err, read, mayStillGo(err), human.Count(n, "message"))
		}
		if interrupted(ctx, err) {
			// Interrupted (Ctrl-C, SIGTERM): a line written to the broker
			// may have been read there, and is stored whether or not
			// anyone waits for its answer; one never written was not
			// sent, and whoever sends the rest must send it too.
			before := human.Count(n, "message")
			return interruptedOnItsWay(err, fmt.Sprintf("line %d", read),
				fmt.Sprintf("the lines after it were not sent (%s sent before it)", before),
				fmt.Sprintf("it and the lines after it were not sent (%s sent before it)", before))
		}
		if err != nil {
			// Whoever sends the rest again must know where to start.
			return fmt.Errorf("line %d: %w; the lines after it were not sent (%s sent before it)", read, err, human.Count(n, "message"))
		}
		n++
		if asJSON {
			if err := printJSON(e.Stdout, r); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "line %d is over the limit of %d bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it; it and the lines after it were not sent (%s sent before it)", read+1, limit, human.Count(n, "message"))
	} else if err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if !asJSON {
		fmt.Fprintf(e.Stdout, "as %s: sent %s to %s\n", p.Name(), human.Count(n, "message"), req.To)
	}
	return nil
}

// describeSend says what became of a message in one line.
func describeSend(r ipc.SendResult) string {
	m := r.Message
	var s string
	switch r.Fate() {
	case ipc.PostedNobody:
		s = fmt.Sprintf("posted to #%s (no other member yet: nobody gets it in check; history shows it)", m.Channel)
	case ipc.Posted:
		s = fmt.Sprintf("posted to #%s (%s, some online)", m.Channel, human.Count(r.Members, "other member"))
	case ipc.PostedQuiet:
		s = fmt.Sprintf("posted to #%s (%s, none online)", m.Channel, human.Count(r.Members, "other member"))
	case ipc.Queued:
		s = fmt.Sprintf("queued for %s (not yet registered; kept %d days until it registers)", m.To, r.QueueDays)
		if len(r.Suggestions) > 0 {
			s += fmt.Sprintf(". Did you mean: %s?", strings.Join(r.Suggestions, ", "))
		}
	case ipc.Delivered:
		s = fmt.Sprintf("delivered to %s (online)", m.To)
	default:
		s = fmt.Sprintf("stored for %s (offline; it gets the message on its next check)", m.To)
	}
	s += sent.Words{
		Forwarded: "; forwarded: %s is now %s",
		Large:     "; large (%s), readers get a summary and the file %s",
		Ref:       " [id %s%s]",
		Type:      ", %s",
		Thread:    ", thread %s",
	}.Endings(r)
	if r.Duplicate {
		// The broker keeps the first message of an id and compares
		// nothing else.
		s += "; already sent under this id before: nothing new was sent now"
	}
	return s
}

func runBroadcast(ctx context.Context, e Env, args []string) (err error) {
	c := asName("broadcast")
	asJSON := c.Bool("json", false, "print the result as JSON")
	var req ipc.BroadcastRequest
	c.StringVar(&req.ID, "id", "", "the broadcast's `ID` (8 to 64 letters, digits, '_' or '-'): run again with the same one, as a script that retries does, the command stores nothing new")
	p, _, err := c.open(ctx, e, args, func(pos []string) error {
		if len(pos) == 0 {
			return usagef("broadcast needs a message")
		}
		if req.ID != "" {
			if err := checkMessageID(req.ID); err != nil {
				return err
			}
		}
		req.Content = strings.Join(pos, " ")
		if !c.stdinDash(pos, 0) {
			if err := ipcmesh.CheckContent("the broadcast", req.Content); err != nil {
				return usagef("%v; nothing was sent", err)
			}
		} else {
			limit := c.cfg.MessageLimit()
			tellTerminalInput(e, "the broadcast")
			b, over, err := readAtMost(e.Stdin, limit)
			if err != nil {
				return fmt.Errorf("read the message from stdin: %w", err)
			}
			if over {
				return ipcmesh.Errorf(ipcmesh.CodeTooLarge, "the broadcast on stdin is over the limit of %d bytes (IPC_MAX_MESSAGE_BYTES): shorten it or split it; nothing was sent", limit)
			}
			req.Content = string(b)
			if err := ipcmesh.CheckContent("the broadcast on stdin", req.Content); err != nil {
				return fmt.Errorf("%w; nothing was sent", err)
			}
		}
		return nil
	})
	if err != nil {
		return joinInterrupted(ctx, err, "nothing was sent")
	}
	defer closeAll(p, &err)
	given := req.ID != ""
	if !given {
		req.ID = ipc.NewID()
	}
	r, err := p.BroadcastMessage(ctx, req)
	if interrupted(ctx, err) {
		return interruptedOnItsWay(err, "the broadcast", "to be sure it goes, "+sendAgain(req.ID, given), "nothing was sent")
	}
	if unsettled(err) {
		return unanswered(err, "the broadcast", "to be sure it goes, "+sendAgain(req.ID, given))
	}
	if err != nil {
		return err
	}
	if *asJSON {
		err = printJSON(e.Stdout, r)
	} else {
		err = printBroadcast(e, p.Name(), r)
	}
	if err != nil {
		return err
	}
	return broadcastFailures(e, p.Name(), r)
}

// printBroadcast says on stdout whom the broadcast of me reached, and whom
// an earlier run under the same id had reached already, unless it reached
// no one while some copy was refused: broadcastFailures says so.
func printBroadcast(e Env, me string, r ipc.BroadcastResult) error {
	var err error
	switch {
	case len(r.Recipients) > 0 && len(r.Duplicate) == len(r.Recipients):
		// The broker keeps the first copy of each id and compares
		// nothing else.
		_, err = fmt.Fprintf(e.Stdout, "as %s: already broadcast under this id before, to %d: %s: nothing new was sent now\n", me, len(r.Recipients), strings.Join(r.Recipients, ", "))
	case len(r.Duplicate) > 0:
		fresh := slices.DeleteFunc(slices.Clone(r.Recipients), func(n string) bool { return slices.Contains(r.Duplicate, n) })
		_, err = fmt.Fprintf(e.Stdout, "as %s: broadcast to %d more: %s (online now: %d); already broadcast under this id before to %d: %s, who got nothing new\n", me, len(fresh), strings.Join(fresh, ", "), len(r.Online), len(r.Duplicate), strings.Join(r.Duplicate, ", "))
	case len(r.Recipients) > 0:
		_, err = fmt.Fprintf(e.Stdout, "as %s: broadcast to %d: %s (online now: %d)\n", me, len(r.Recipients), strings.Join(r.Recipients, ", "), len(r.Online))
	case len(r.Failed) == 0:
		_, err = fmt.Fprintf(e.Stdout, "as %s: nobody else is registered: the broadcast reached no one\n", me)
	}
	return err
}

// broadcastFailures says on stderr, a line each, which recipients' copies
// were refused and why, and then ends the command with exit status 1: a
// script must not take a broadcast that missed someone for one that
// reached everyone, nor one that reached no one for one with nobody to
// reach.
func broadcastFailures(e Env, me string, r ipc.BroadcastResult) error {
	if len(r.Failed) == 0 {
		return nil
	}
	if len(r.Recipients) == 0 {
		fmt.Fprintf(e.Stderr, "ipcmesh broadcast: as %s: the broadcast reached none of its %d recipients\n", me, len(r.Failed))
	}
	for _, name := range slices.Sorted(maps.Keys(r.Failed)) {
		fmt.Fprintf(e.Stderr, "ipcmesh broadcast: not delivered to %s: %s\n", name, oneLine(errors.New(r.Failed[name])))
	}
	return &exitStatus{1}
}
