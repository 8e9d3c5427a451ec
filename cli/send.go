package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/ipcmesh/ipcmesh/election"
	"github.com/ipcmesh/ipcmesh/ipc"
)

func runSend(ctx context.Context, e Env, args []string) (err error) {
	fs := flags("send")
	var id identity
	id.register(fs)
	lines := fs.Bool("lines", false, "with '-': send each line of stdin as its own message")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return usagef("send needs a recipient and a message")
	}
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
		return sendLines(ctx, e, p, to, *asJSON)
	}
	r, err := p.Send(ctx, to, content)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.Stdout, r)
	}
	fmt.Fprintln(e.Stdout, describeSend(r))
	return nil
}

// sendLines sends each line of stdin as one message, in order, each acked
// before the next is sent: a stream of numbered lines arrives numbered.
func sendLines(ctx context.Context, e Env, p *election.Peer, to string, asJSON bool) error {
	sc := bufio.NewScanner(e.Stdin)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		r, err := p.Send(ctx, to, line)
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
		fmt.Fprintf(e.Stdout, "sent %d messages to %s\n", n, to)
	}
	return nil
}

// describeSend says what became of a message in one line.
func describeSend(r ipc.SendResult) string {
	m := r.Message
	var s string
	switch {
	case r.Queued:
		s = fmt.Sprintf("queued for %s (not yet registered; kept %d days until it registers)", m.To, r.QueueDays)
		if len(r.Suggestions) > 0 {
			s += fmt.Sprintf(". Did you mean: %s?", strings.Join(r.Suggestions, ", "))
		}
	case r.Online:
		s = fmt.Sprintf("delivered to %s (online)", m.To)
	default:
		s = fmt.Sprintf("stored for %s (offline; it gets the message on its next check)", m.To)
	}
	if r.Forwarded {
		s += fmt.Sprintf("; forwarded: %s is now %s", m.SentTo, m.To)
	}
	if m.Large {
		s += fmt.Sprintf("; large (%s), the recipient gets a summary and the file %s", humanSize(m.Size), m.Path)
	}
	return s + " [id " + m.ID + "]"
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
