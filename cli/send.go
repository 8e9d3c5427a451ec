package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ipcmesh/ipcmesh/internal/human"

	"github.com/ipcmesh/ipcmesh"
	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func runSend(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("send")
	var id identity
	id.register(fs)
	lines := fs.Bool("lines", false, "with '-': send each line of stdin as its own message")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	typ := fs.String("type", "", "the message `TYPE`: message, request, response, status, handoff or done")
	replyTo := fs.String("reply-to", "", "the `ID` of the message this answers (makes a thread)")
	shared := fs.String("shared", "", "a shared-data `KEY` the message points at (see ipcmesh share)")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("send needs a recipient and a message")
	}
	if err := ipcmesh.ValidateType(*typ); err != nil {
		return usagef("--type: %v", err)
	}
	if *typ == ipcmesh.TypeMessage {
		*typ = ""
	}
	req := ipc.SendRequest{Outgoing: ipc.Outgoing{To: pos[0], Type: *typ, ReplyTo: *replyTo, Shared: *shared}}
	to, words := pos[0], pos[1:]
	fromStdin := len(words) == 1 && words[0] == "-"
	if *lines && !fromStdin {
		return usagef("--lines reads messages from stdin: use 'ipcmesh send --lines %s -'", to)
	}
	var content string
	if fromStdin && !*lines {
		b, err := io.ReadAll(e.Stdin)
		if err != nil {
			return fmt.Errorf("read the message from stdin: %w", err)
		}
		content = string(b)
	} else if !fromStdin {
		content = strings.Join(words, " ")
	}
	p, err := id.session(ctx, e, false, nil)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	if *lines {
		return sendLines(ctx, e, p, req, *asJSON)
	}
	req.Content = content
	r, err := p.SendMessage(ctx, req)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	fmt.Fprintln(e.Stdout, describeSend(r))
	return nil
}

// sendLines sends each line of stdin as one message like req, in order,
// each acked before the next is sent: a stream of numbered lines arrives
// numbered.
func sendLines(ctx context.Context, e Env, p *election.Peer, req ipc.SendRequest, asJSON bool) error {
	sc := bufio.NewScanner(e.Stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		req.Content = line
		r, err := p.SendMessage(ctx, req)
		if err != nil {
			return fmt.Errorf("line %d: %w", n+1, err)
		}
		n++
		if asJSON {
			if err := printJSON(e.Stdout, r); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read stdin: %w", err)
	}
	if !asJSON {
		fmt.Fprintf(e.Stdout, "sent %d messages to %s\n", n, req.To)
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
	if r.Forwarded {
		s += fmt.Sprintf("; forwarded: %s is now %s", m.SentTo, m.To)
	}
	if m.Large {
		s += fmt.Sprintf("; large (%s), readers get a summary and the file %s", human.Size(m.Size), m.Path)
	}
	s += " [id " + m.ID
	if m.Type != "" {
		s += ", " + m.Type
	}
	if m.Thread != "" {
		s += ", thread " + m.Thread
	}
	return s + "]"
}

func runBroadcast(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("broadcast")
	var id identity
	id.register(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args, 0)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("broadcast needs a message")
	}
	content := strings.Join(pos, " ")
	if content == "-" {
		b, err := io.ReadAll(e.Stdin)
		if err != nil {
			return fmt.Errorf("read the message from stdin: %w", err)
		}
		content = string(b)
	}
	p, err := id.session(ctx, e, false, nil)
	if err != nil {
		return err
	}
	defer closeAll(p, &err)
	r, err := p.Broadcast(ctx, content)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	if len(r.Recipients) == 0 {
		fmt.Fprintln(e.Stdout, "nobody else is registered: the broadcast reached no one")
	} else {
		fmt.Fprintf(e.Stdout, "broadcast to %d: %s (online now: %d)\n", len(r.Recipients), strings.Join(r.Recipients, ", "), len(r.Online))
	}
	for name, why := range r.Failed {
		fmt.Fprintf(e.Stdout, "not delivered to %s: %s\n", name, why)
	}
	return nil
}
